import { EkslinkError } from '../../common/errors.js';
import type { RegisterCommand } from '../command.js';

// Interim registration: the owning issue replaces this file with the real command.
export const registerWireguard: RegisterCommand = (program, run) => {
  program
    .command('wireguard')
    .description('(being built)')
    .action(
      run(async () => {
        throw new EkslinkError('EKL_NOT_BUILT', 'ekslink wireguard is not built yet');
      }),
    );
};
