import type { Inspection, SignatureStatus } from '../../verify/index.js';
import { escapeTerminal } from '../../util/terminal.js';
import { defineCommand } from '../command.js';
import { JSON_OPTIONS, KEYLESS_OPTIONS } from '../options.js';

export const inspect = defineCommand({
  name: 'inspect',
  summary: 'show what an attestation claims and who signed it',
  positionals: [{ name: 'envelope|bundle' }],
  options: {
    key: { type: 'string', multiple: true, value: 'PUB', description: 'report signatures by this public key (PEM) as verified (repeatable)' },
    'trusted-root': KEYLESS_OPTIONS['trusted-root'],
    ...JSON_OPTIONS,
  },
  notes: ['Everything shown is a claim the file makes; `kiln verify` decides whether to trust it.'],
  exit: '0 shown · 2 not an attestation, or bad usage',
  async run({ values, positionals }, io) {
    const { inspect } = await import('../../verify/index.js');
    const inspection = await inspect(positionals[0]!, { keys: values.key ?? [], trustedRoot: values['trusted-root'] });
    io.stdout.write(values.json ? JSON.stringify({ kiln: 'inspect/v1', ...inspection }, null, 2) + '\n' : formatInspection(inspection));
    return 0;
  },
});

/**
 * A readable, plain-text summary (no colour: it is often piped). Everything shown is a claim
 * an unverified envelope makes (subject names, builder, recipe, key ids, certificate
 * identity), so each line is escaped whole before it reaches the terminal.
 */
export function formatInspection(inspection: Inspection): string {
  const lines: string[] = [];
  const n = inspection.envelopes.length;
  lines.push(`${inspection.file}: ${inspection.kind === 'sigstore' ? 'Sigstore bundle' : n === 1 ? 'DSSE envelope' : `${n} DSSE envelopes`}`);
  inspection.envelopes.forEach((e, i) => {
    if (n > 1) lines.push('', `envelope ${i + 1}${e.line !== undefined ? ` (line ${e.line})` : ''}`);
    const field = (label: string, value: string | undefined) => {
      if (value !== undefined) lines.push(`  ${label.padEnd(14)}${value}`);
    };
    field('payloadType', e.payloadType);
    if (e.error) {
      field('error', e.error);
    } else {
      field('statement', e.statementType);
      field('predicate', e.predicateType);
      field('builder', e.builderId);
      field('buildType', e.buildType);
      if (e.recipe) field('recipe', [e.recipe.name, e.recipe.version, e.recipe.digest && `(${e.recipe.digest})`].filter(Boolean).join(' '));
      if (e.source) {
        field('source', [e.source.repository, e.source.ref && `@ ${e.source.ref}`].filter(Boolean).join(' '));
        field('commit', e.source.commit);
        field('workflow', e.source.workflow);
      }
      field('invocation', e.invocationId);
      field('started', e.startedOn);
      field('finished', e.finishedOn);
    }
    field('logged', e.loggedAt);
    if (e.certificate) {
      field('signer', e.certificate.identity ?? '(no identity)');
      field('issuer', e.certificate.issuer);
      field('certificate', `${statusText(e.certificate.status)}${e.certificate.reason ? `: ${e.certificate.reason}` : ''}`);
    }
    lines.push(`  subjects (${e.subjects.length})`);
    for (const s of e.subjects) lines.push(`    ${s.name}  ${Object.entries(s.digest).map(([a, v]) => `${a}:${v}`).join(' ')}`);
    lines.push(`  dependencies (${e.dependencies.length})`);
    for (const d of e.dependencies.slice(0, 50)) {
      lines.push(`    ${d.uri ?? d.name ?? '?'}  ${Object.entries(d.digest ?? {}).map(([a, v]) => `${a}:${v}`).join(' ') || '(no digest)'}`);
    }
    if (e.dependencies.length > 50) lines.push(`    … ${e.dependencies.length - 50} more (--json lists all)`);
    lines.push(`  signatures (${e.signatures.length})`);
    for (const s of e.signatures) lines.push(`    ${s.keyid || '(no keyid)'}  ${statusText(s.status)}${s.key ? ` by ${s.key}` : ''}`);
  });
  if (inspection.envelopes.some((e) => e.signatures.some((s) => s.status !== 'trusted'))) {
    lines.push('', 'claims above are shown as written; `kiln verify` decides whether to trust them');
  }
  return lines.map(escapeTerminal).join('\n') + '\n';
}

function statusText(status: SignatureStatus): string {
  switch (status) {
    case 'trusted':
      return 'verified';
    case 'not-trusted':
      return 'NOT verified by a trusted key/root';
    case 'unchecked':
      return 'not checked (no --key / --trusted-root)';
  }
}

