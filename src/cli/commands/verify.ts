import type { VerifyResult } from '../../verify/index.js';
import { escapeTerminal } from '../../util/terminal.js';
import { defineCommand } from '../command.js';
import { JSON_OPTIONS, KEYLESS_OPTIONS, keylessOptions, positiveInteger, warnIfUnanchored } from '../options.js';

export const verify = defineCommand({
  name: 'verify',
  summary: 'verify artifacts against their provenance, keys, policy and rebuilds',
  positionals: [{ name: 'artifact', variadic: true }],
  options: {
    provenance: { type: 'string', required: true, value: 'FILE', description: 'the provenance: a .intoto.jsonl, a DSSE envelope or a Sigstore bundle' },
    key: { type: 'string', multiple: true, value: 'PUB', description: 'a trusted public key (PEM): the provenance must be signed by one of them (repeatable)' },
    'builder-id': { type: 'string', value: 'ID', description: 'the builder id the provenance must name (unchecked when absent: the report says so)' },
    policy: { type: 'string', value: 'FILE', description: 'a policy of named CEL rules (schemas/policy.schema.json), and rebuild requirements' },
    ...KEYLESS_OPTIONS,
    rebuilds: { type: 'string', multiple: true, value: 'VSA', description: 'a rebuild verdict (SLSA VSA) written by `kiln rebuild` (repeatable)' },
    'rebuilder-key': { type: 'string', multiple: true, value: 'PUB', description: "a rebuilder's public key: only verdicts it signed count (repeatable)" },
    'min-rebuilds': { type: 'string', value: 'K', description: "verdicts from distinct rebuilders required (default the policy's rebuilds.minimum, else 1 when --rebuilds are given)" },
    'rebuilder-id': { type: 'string', multiple: true, value: 'ID', description: 'only verdicts from this rebuilder count (repeatable)' },
    'resource-uri': { type: 'string', value: 'URI', description: "the package the verdicts must be about (default: from the provenance's recipe)" },
    ...JSON_OPTIONS,
  },
  notes: [
    'trust: --key PUB… for key-signed provenance; --trusted-root FILE with --certificate-identity ID (or --certificate-identity-regexp RE) and --certificate-oidc-issuer URL for keyless Sigstore bundles.',
    "A rebuild verdict counts when it is a SLSA VSA v1 signed by a --rebuilder-key, PASSED under kiln's bit-for-bit policy, for this provenance file (inputAttestations), this package (resourceUri: from the recipe, or --resource-uri) and every artifact's digest.",
  ],
  exit: '0 verified · 1 verification failed · 2 bad input or usage',
  async run({ values, positionals }, io) {
    const minRebuilds = positiveInteger(values['min-rebuilds'], '--min-rebuilds');
    const keyless = keylessOptions(values);
    const { verify } = await import('../../verify/index.js');
    await warnIfUnanchored(keyless, io);
    const result = await verify({
      artifacts: positionals,
      provenance: values.provenance,
      keys: values.key ?? [],
      keyless,
      trustedRoot: values['trusted-root'],
      builderId: values['builder-id'],
      policy: values.policy,
      rebuilds: values.rebuilds,
      rebuilderKeys: values['rebuilder-key'],
      minRebuilds,
      rebuilderIds: values['rebuilder-id'],
      resourceUri: values['resource-uri'],
    });
    io.stdout.write(values.json ? JSON.stringify(verifyToJSON(result), null, 2) + '\n' : formatVerify(result));
    return result.passed ? 0 : 1;
  },
});

/** The `--json` document (`verify/v1`). */
function verifyToJSON(result: VerifyResult) {
  return {
    kiln: 'verify/v1',
    passed: result.passed,
    attestation: { file: result.attestation.file, kind: result.attestation.kind, ...(result.line !== undefined && { line: result.line }) },
    artifacts: result.artifacts.map((a) => ({ name: a.name, path: a.path, size: a.size, digests: a.digests })),
    ...(result.signer && { signer: result.signer }),
    checks: result.checks,
  };
}

/**
 * One line per check, ✓/✗, name and reason; the verdict last. Reasons quote the attestation
 * (subject names, builder ids, key ids, identities): each line is escaped whole.
 */
export function formatVerify(result: VerifyResult): string {
  const { attestation } = result;
  const width = Math.max(...result.checks.map((c) => c.name.length));
  const lines = result.checks.map((c) => `${c.passed ? '✓' : '✗'} ${c.name.padEnd(width)}  ${c.reason}`);
  const source = `${attestation.file}${result.line !== undefined && attestation.kind === 'dsse' && attestation.envelopes.length > 1 ? `:${result.line}` : ''}`;
  const failed = result.checks.filter((c) => !c.passed);
  lines.push(
    result.passed
      ? `PASSED: ${result.artifacts.map((a) => a.name).join(', ')} verified against ${source}`
      : `FAILED: ${failed.map((c) => c.name).join(', ')} (${source})`,
  );
  return lines.map(escapeTerminal).join('\n') + '\n';
}
