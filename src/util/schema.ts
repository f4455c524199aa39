import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './package.js';

/**
 * The text of a JSON Schema in `schemas/`: the file editors and users read, not a copy, found
 * from the package root whether kiln runs from src/ (tsx) or dist/.
 */
export function readSchemaText(name: string): string {
  try {
    return readFileSync(join(packageRoot(), 'schemas', name), 'utf8');
  } catch (err) {
    throw new Error(`kiln installation is broken: schemas/${name} cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}
