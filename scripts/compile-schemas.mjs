#!/usr/bin/env node
// Precompiles the recipe schema into a standalone validator (ajv standalone code) at build
// time, so a `kiln build` does not pay ajv's compile cost (~60 ms) on every start. The output
// records the schema's sha256; src/recipe/validate.ts uses it only while it matches the schema
// file, and compiles at run time otherwise (under tsx, or after an edit without a rebuild).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';

const root = new URL('..', import.meta.url);
const text = readFileSync(new URL('schemas/recipe.schema.json', root), 'utf8');
// The same options as src/recipe/validate.ts, plus code generation.
const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false, code: { source: true } });
const validate = ajv.compile(JSON.parse(text));
const code = standaloneCode.default ? standaloneCode.default(ajv, validate) : standaloneCode(ajv, validate);
const sha = createHash('sha256').update(text).digest('hex');
const out = new URL('dist/src/recipe/', root);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('recipe-validator.generated.cjs', out), `${code}\nmodule.exports.schemaSha256 = ${JSON.stringify(sha)};\n`);
