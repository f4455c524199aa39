import { parseArgs } from 'node:util';
import type { CliIO } from '../cli/main.js';
import { readTrustedKey, type TrustedKey } from '../attest/index.js';
import { formatLocation, isKilnError, UsageError } from '../util/errors.js';
import { escapeTerminal, escapeTerminalLines } from '../util/terminal.js';
import { hashArtifact, type HashedArtifact } from './artifact.js';
import { readAttestationFile, type Attestation } from './attestation.js';
import { formatInspection, inspectAttestation } from './inspect.js';
import { isAnchoredPattern, readTrustedRoot, type KeylessOptions } from './keyless.js';
import { readPolicy, type AllowedRebuilder, type Policy } from './policy.js';
import { rebuiltProvenance, verifyRebuilds } from './rebuilds.js';
import { loadProvenanceTrust } from './trust.js';
import { verifyProvenance, type VerifyReport } from './verify.js';

export const VERIFY_USAGE = `usage: kiln verify <artifact…> --provenance <file> [--key <pub.pem>…] [--builder-id ID] [--policy FILE]
                   [--trusted-root FILE --certificate-identity ID | --certificate-identity-regexp RE
                    --certificate-oidc-issuer URL]
                   [--rebuilds <vsa…> --rebuilder-key <pub>… [--min-rebuilds K] [--rebuilder-id ID…]
                    [--resource-uri URI]] [--json]
  --certificate-identity-regexp matches anywhere in the identity (as cosign's): anchor it, ^…$
  a rebuild verdict counts when it is a SLSA VSA v1 signed by a --rebuilder-key, PASSED under
  kiln's bit-for-bit policy, for this provenance file (inputAttestations), this package
  (resourceUri: from the recipe, or --resource-uri) and every artifact's digest
  exit 0 verified · 1 verification failed · 2 bad input or usage
`;

export const INSPECT_USAGE = `usage: kiln inspect <envelope|bundle> [--key <pub.pem>…] [--trusted-root FILE] [--json]
`;

/** `kiln verify`: loads everything, hashes the artifacts once, runs verifyProvenance, renders. */
export async function runVerifyCommand(args: string[], io: CliIO): Promise<number> {
  const json = args.includes('--json');
  try {
    const { values, positionals } = parse(args, {
      provenance: { type: 'string' },
      key: { type: 'string', multiple: true },
      'builder-id': { type: 'string' },
      policy: { type: 'string' },
      'trusted-root': { type: 'string' },
      'certificate-identity': { type: 'string' },
      'certificate-identity-regexp': { type: 'string' },
      'certificate-oidc-issuer': { type: 'string' },
      rebuilds: { type: 'string', multiple: true },
      'rebuilder-key': { type: 'string', multiple: true },
      'min-rebuilds': { type: 'string' },
      'rebuilder-id': { type: 'string', multiple: true },
      'resource-uri': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length === 0) throw new UsageError('kiln verify needs at least one artifact', { hint: VERIFY_USAGE.trimEnd() });
    if (values.provenance === undefined) throw new UsageError('kiln verify needs --provenance <file>', { hint: VERIFY_USAGE.trimEnd() });

    // Everything that can be bad input is loaded and checked before hashing: a usage error
    // should not wait for a gigabyte to be read.
    const attestation = await readAttestationFile(values.provenance);
    const keylessOptions = keylessOptionsFrom(values);
    warnIfUnanchored(keylessOptions, io);
    const { keys, keyless } = await loadProvenanceTrust(attestation, { keys: values.key ?? [], keyless: keylessOptions, trustedRoot: values['trusted-root'] });
    const policy: Policy | undefined = values.policy === undefined ? undefined : await readPolicy(values.policy);

    const minRebuilds = values['min-rebuilds'] === undefined ? undefined : Number(values['min-rebuilds']);
    if (minRebuilds !== undefined && (!Number.isInteger(minRebuilds) || minRebuilds < 1)) throw new UsageError(`--min-rebuilds must be a positive integer, got "${values['min-rebuilds']}"`);
    const required = minRebuilds ?? policy?.rebuilds?.minimum ?? (values.rebuilds?.length ? 1 : undefined);
    const vsas: Attestation[] = [];
    for (const file of values.rebuilds ?? []) vsas.push(await readAttestationFile(file));
    const rebuilderKeys = await readKeys(values['rebuilder-key'] ?? []);
    if (required !== undefined && rebuilderKeys.length === 0) {
      throw new UsageError('rebuild verdicts are required: give the rebuilders\' public keys with --rebuilder-key', { hint: VERIFY_USAGE.trimEnd() });
    }

    const artifacts: HashedArtifact[] = [];
    for (const path of positionals) artifacts.push(await hashArtifact(path));

    const report = verifyProvenance({
      artifacts,
      attestation,
      keys,
      ...(values['builder-id'] !== undefined && { builderId: values['builder-id'] }),
      ...(policy && { policy }),
      ...(keyless && { keyless }),
    });
    if (required !== undefined) {
      const rebuilders = allowedRebuilders(values['rebuilder-id'], policy?.rebuilds?.rebuilders);
      const checks = verifyRebuilds({
        artifacts,
        vsas,
        rebuilderKeys,
        minimum: required,
        ...(rebuilders && { rebuilders }),
        // The verdicts must be about THIS provenance: its bytes, its package, after its build.
        provenance: rebuiltProvenance(attestation.sha256, report.statement, values['resource-uri']),
      });
      report.checks.push(...checks);
      report.passed = report.passed && checks.every((c) => c.name !== 'rebuilds' || c.passed);
    }
    io.stdout.write(values.json ? JSON.stringify(reportToJSON(report, attestation, artifacts), null, 2) + '\n' : formatReport(report, attestation, artifacts));
    return report.passed ? 0 : 1;
  } catch (err) {
    return fail(err, io, json);
  }
}

/** `kiln inspect`: a readable summary of an envelope, a .intoto.jsonl or a Sigstore bundle. */
export async function runInspectCommand(args: string[], io: CliIO): Promise<number> {
  const json = args.includes('--json');
  try {
    const { values, positionals } = parse(args, {
      key: { type: 'string', multiple: true },
      'trusted-root': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError('kiln inspect takes one attestation file', { hint: INSPECT_USAGE.trimEnd() });
    const attestation = await readAttestationFile(positionals[0]!);
    const keys = await readKeys(values.key ?? []);
    const trustMaterial = values['trusted-root'] === undefined ? undefined : await readTrustedRoot(values['trusted-root']);
    const inspection = inspectAttestation(attestation, { keys, ...(trustMaterial && { trustMaterial }) });
    io.stdout.write(values.json ? JSON.stringify({ kiln: 'inspect/v1', ...inspection }, null, 2) + '\n' : formatInspection(inspection));
    return 0;
  } catch (err) {
    return fail(err, io, json);
  }
}

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function readKeys(files: string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const file of files) keys.push(await readTrustedKey(file));
  return keys;
}

/** Rebuilders whose verdicts count: both lists must allow one when both are given (the policy's key pairings kept); undefined: any. */
function allowedRebuilders(flag: string[] | undefined, policy: AllowedRebuilder[] | undefined): AllowedRebuilder[] | undefined {
  if (flag === undefined) return policy;
  if (policy === undefined) return flag;
  return policy.filter((r) => flag.includes(typeof r === 'string' ? r : r.id));
}

/** The `--certificate-*` flags as KeylessOptions (absent flags left out). */
export function keylessOptionsFrom(values: { 'certificate-identity'?: string; 'certificate-identity-regexp'?: string; 'certificate-oidc-issuer'?: string }): KeylessOptions {
  return {
    ...(values['certificate-identity'] !== undefined && { certificateIdentity: values['certificate-identity'] }),
    ...(values['certificate-identity-regexp'] !== undefined && { certificateIdentityRegexp: values['certificate-identity-regexp'] }),
    ...(values['certificate-oidc-issuer'] !== undefined && { certificateOidcIssuer: values['certificate-oidc-issuer'] }),
  };
}

/** cosign's semantics (the regexp matches anywhere in the identity), and a warning when that is wider than meant. */
export function warnIfUnanchored(options: KeylessOptions, io: { stderr: { write(text: string): void } }): void {
  const pattern = options.certificateIdentityRegexp;
  if (pattern !== undefined && !isAnchoredPattern(pattern)) {
    io.stderr.write(
      `kiln: warning: --certificate-identity-regexp ${escapeTerminal(JSON.stringify(pattern))} is not anchored: it accepts any identity that merely contains a match ` +
        '(a workflow in another repository, a branch an attacker names). Anchor it: ^…$\n',
    );
  }
}

function reportToJSON(report: VerifyReport, attestation: Attestation, artifacts: HashedArtifact[]) {
  return {
    kiln: 'verify/v1',
    passed: report.passed,
    attestation: { file: attestation.file, kind: attestation.kind, ...(report.line !== undefined && { line: report.line }) },
    artifacts: artifacts.map((a) => ({ name: a.name, path: a.path, size: a.size, digests: a.digests })),
    ...(report.signer && { signer: report.signer }),
    checks: report.checks,
  };
}

/**
 * One line per check, ✓/✗, name and reason; the verdict last. Reasons quote the attestation
 * (subject names, builder ids, key ids, identities): each line is escaped whole.
 */
export function formatReport(report: VerifyReport, attestation: Attestation, artifacts: HashedArtifact[]): string {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = report.checks.map((c) => `${c.passed ? '✓' : '✗'} ${c.name.padEnd(width)}  ${c.reason}`);
  const source = `${attestation.file}${report.line !== undefined && attestation.kind === 'dsse' && attestation.envelopes.length > 1 ? `:${report.line}` : ''}`;
  const failed = report.checks.filter((c) => !c.passed);
  lines.push(
    report.passed
      ? `PASSED: ${artifacts.map((a) => a.name).join(', ')} verified against ${source}`
      : `FAILED: ${failed.map((c) => c.name).join(', ')} (${source})`,
  );
  return lines.map(escapeTerminal).join('\n') + '\n';
}

function fail(err: unknown, io: CliIO, json: boolean): number {
  if (!isKilnError(err)) throw err;
  if (json) io.stdout.write(JSON.stringify({ kiln: 'error/v1', error: err.toJSON() }, null, 2) + '\n');
  let text = `kiln: ${escapeTerminal(`${err.where ? `${formatLocation(err.where)}: ` : ''}${err.message}`)}`;
  if (err.hint) text += `\n  hint: ${escapeTerminalLines(err.hint).replaceAll('\n', '\n  ')}`;
  io.stderr.write(text + '\n');
  return err.exitCode;
}
