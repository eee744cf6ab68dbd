import { EkslinkError } from '../../common/errors.js';
import type { RegisterCommand } from '../command.js';

// Interim registration: the owning issue replaces this file with the real command.
export const registerDemo: RegisterCommand = (program, run) => {
  program
    .command('demo')
    .description('(being built)')
    .action(
      run(async () => {
        throw new EkslinkError('EKL_NOT_BUILT', 'ekslink demo is not built yet');
      }),
    );
};
