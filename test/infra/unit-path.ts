/** The systemd unit the fleet tests install: the real packaging unit. */
export { DEFAULT_SYSTEMD_UNIT_PATH as UNIT_PATH } from '../../infra/lib/artifacts.js';
