// Writes docs/errors.md from the error catalogs in the source.
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from './error-catalogs.js';

writeFileSync('docs/errors.md', renderErrorsDoc());
console.log('wrote docs/errors.md');
