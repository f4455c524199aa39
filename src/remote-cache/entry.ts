import { AttestError } from '../attest/errors.js';
import { envelopeFromJSON, envelopeToJSON, signEnvelope, verifyEnvelopeSignatures } from '../attest/dsse.js';
import { makeStatement, statementFromPayload } from '../attest/statement.js';
import { PAYLOAD_TYPE_INTOTO, type Signer, type Statement, type TrustedKey } from '../attest/types.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { digestHex, isDigest, type Digest } from '../util/digest.js';
import { RemoteCacheError } from './errors.js';

/**
 * The signed claim of a shared-cache entry (docs/predicates/cache-entry-v1.md): an in-toto
 * Statement whose subject is the output tree (kiln's tree manifest digest) and whose predicate
 * names the action key and the log. Pure: building, signing and admitting entries.
 */
export const PREDICATE_KILN_CACHE_ENTRY_V1 = 'https://kiln.example.org/predicates/cache-entry/v1';

/** The subject's name: the action's output folder as a kiln tree. */
export const CACHE_ENTRY_SUBJECT = 'output-tree';

/** What a writer claims and a reader checks: this action key gave this output tree and this log. */
export interface CacheEntryClaim {
  actionKey: Digest;
  outputTree: Digest;
  log: Digest;
}

/** Whom the reader trusts: entries signed by `keys`, and, when `trustServer`, whatever the server says. */
export interface CacheTrust {
  keys: TrustedKey[];
  trustServer: boolean;
}

/** Why an entry was accepted: a trusted key's signature (its keyid), or the user's trust in the server. */
export type Admission = { admittedBy: 'signature'; keyid: string } | { admittedBy: 'trusted-server'; keyid?: string };

export interface CacheEntryPredicate {
  actionKey: Digest;
  log: Digest;
}

export function cacheEntryStatement(claim: CacheEntryClaim): Statement<CacheEntryPredicate> {
  return makeStatement([{ name: CACHE_ENTRY_SUBJECT, digest: { sha256: digestHex(claim.outputTree) } }], PREDICATE_KILN_CACHE_ENTRY_V1, {
    actionKey: claim.actionKey,
    log: claim.log,
  });
}

/** The DSSE envelope (one line of JSON) of the claim, signed by `signer`: what the entry stores beside the result. */
export function signCacheEntry(claim: CacheEntryClaim, signer: Signer): Buffer {
  const payload = Buffer.from(canonicalJSON(cacheEntryStatement(claim)));
  return Buffer.from(envelopeToJSON(signEnvelope(payload, PAYLOAD_TYPE_INTOTO, [signer])));
}

/**
 * Decides whether an entry may be used, from its envelope (undefined: the entry carries none) and
 * what the entry actually holds (`found`: the key it was looked up by, the tree its bytes make,
 * its log). Accepts when a trusted key signed a statement making exactly that claim, or when the
 * user trusts the server and any statement present makes exactly that claim. Throws a
 * RemoteCacheError saying why not.
 */
export function admitCacheEntry(envelopeBytes: Uint8Array | undefined, found: CacheEntryClaim, trust: CacheTrust): Admission {
  if (envelopeBytes === undefined) {
    if (trust.trustServer) return { admittedBy: 'trusted-server' };
    throw new RemoteCacheError('KILN_CACHE_UNSIGNED', 'the entry is not signed', { hint: 'writers sign with --cache-sign-key (or their --sign-key); --trust-remote-cache accepts unsigned entries' });
  }
  let verified: ReturnType<typeof verifyEnvelopeSignatures>;
  let statement: Statement;
  try {
    const envelope = envelopeFromJSON(Buffer.from(envelopeBytes).toString('utf8'), 'the entry\'s signature');
    if (envelope.payloadType !== PAYLOAD_TYPE_INTOTO) throw bad(`its envelope's payloadType is ${JSON.stringify(envelope.payloadType)}, not ${PAYLOAD_TYPE_INTOTO}`);
    verified = verifyEnvelopeSignatures(envelope, trust.keys);
    statement = statementFromPayload(verified.payload);
  } catch (err) {
    if (err instanceof AttestError) throw bad(err.message, err);
    throw err;
  }
  assertClaim(statement, found);
  const keyid = verified.validKeyids[0];
  if (keyid !== undefined) return { admittedBy: 'signature', keyid };
  if (trust.trustServer) return { admittedBy: 'trusted-server' };
  throw new RemoteCacheError('KILN_CACHE_UNTRUSTED', `the entry is signed by no trusted key (${trust.keys.length} trusted; its signatures name ${verified.checked === 0 ? 'nothing' : JSON.stringify(signatureHints(envelopeBytes))})`, {
    hint: 'trust the writers\' public keys with --cache-trust PUB (or $KILN_CACHE_TRUST)',
  });
}

/** The statement must claim exactly what the entry holds: a signature is only worth what it signs. */
function assertClaim(statement: Statement, found: CacheEntryClaim): void {
  if (statement.predicateType !== PREDICATE_KILN_CACHE_ENTRY_V1) throw bad(`its statement is a ${statement.predicateType}, not a kiln cache entry`);
  const predicate = statement.predicate as Partial<CacheEntryPredicate> | null;
  const subject = statement.subject.find((s) => s.name === CACHE_ENTRY_SUBJECT);
  const claimed = {
    actionKey: predicate?.actionKey,
    outputTree: subject?.digest.sha256 === undefined ? undefined : `sha256:${subject.digest.sha256}`,
    log: predicate?.log,
  };
  for (const field of ['actionKey', 'outputTree', 'log'] as const) {
    const value = claimed[field];
    if (!isDigest(value)) throw bad(`its statement names no ${field}`);
    if (value !== found[field]) {
      throw new RemoteCacheError('KILN_CACHE_MISMATCH', `the signed statement names ${field} ${value}, but the entry holds ${found[field]}`, { expected: value, found: found[field] });
    }
  }
}

/** The keyid hints of an envelope, for the message (never used to decide). */
function signatureHints(envelopeBytes: Uint8Array): string[] {
  try {
    return envelopeFromJSON(Buffer.from(envelopeBytes).toString('utf8')).signatures.map((s) => s.keyid);
  } catch {
    return [];
  }
}

function bad(why: string, cause?: unknown): RemoteCacheError {
  return new RemoteCacheError('KILN_CACHE_BAD_ENTRY', `the entry's signature: ${why}`, { cause });
}
