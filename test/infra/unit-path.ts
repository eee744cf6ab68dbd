/** The systemd unit the fleet tests install: the real packaging unit. */
import { join } from 'node:path';
import { REPO_ROOT } from '../../infra/lib/artifacts.js';

export const UNIT_PATH = join(REPO_ROOT, 'test', 'infra', 'fixtures', 'ekslink-proxy.service');
