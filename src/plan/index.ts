export { ACTION_KEY_FORMAT, computeActionKey } from './action-key.js';
export type { ActionKeyMaterial, ImageIdentity } from './action-key.js';
export { KILN_INPUTS_DIR, KILN_OUT_DIR, KILN_STEPS_DIR, KILN_WORK_DIR, NORMALIZE_RULES, planBuild, stepScript } from './plan.js';
export type { Plan, PlannedStep } from './plan.js';
export type { PlanVariation } from './variation.js';
