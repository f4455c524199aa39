/**
 * Size budgets of the documents kiln parses (docs/security.md, "Budgets"). Each is far above
 * what a real document holds and far below what a parser can chew through in a moment: a
 * recipe with a thousand inputs is ~200 KiB, a lock for a Debian image of 1,000 packages
 * ~400 KiB. Past a budget, the reader refuses the document before parsing it (exit 2).
 */

const MiB = 1024 * 1024;

/** A recipe (kiln.yaml), read from disk or embedded in provenance. */
export const MAX_RECIPE_BYTES = 1 * MiB;
/** A kiln.lock, read from disk or embedded in provenance. */
export const MAX_LOCK_BYTES = 16 * MiB;
/** A verification policy (YAML). */
export const MAX_POLICY_BYTES = 1 * MiB;
/**
 * An attestation file: a DSSE envelope, a `.intoto.jsonl`, a Sigstore bundle. It embeds the
 * recipe and the lock in base64, with an SBOM beside it: a few times the two above.
 */
export const MAX_ATTESTATION_BYTES = 64 * MiB;

/** Budget names as the errors and the docs spell them. */
export const BUDGET_NAMES = {
  recipe: 'maxRecipeBytes',
  lock: 'maxLockBytes',
  policy: 'maxPolicyBytes',
  attestation: 'maxAttestationBytes',
} as const;

/** The UTF-8 length of `text` is over `limit`: a cheap bound first (a UTF-16 unit is at most 3 bytes). */
export function isOverBytes(text: string, limit: number): boolean {
  if (text.length * 3 <= limit) return false;
  return Buffer.byteLength(text, 'utf8') > limit;
}
