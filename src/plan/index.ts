export { ACTION_KEY_FORMAT, computeActionKey } from './action-key.js';
export type { ActionKeyMaterial, ImageIdentity } from './action-key.js';
export { actionLimits, parseUser, planStepAction, PLATFORM, scratchMounts } from './action.js';
export type { ActionContext, PlannedAction, StepResolution } from './action.js';
export { KILN_INPUTS_DIR, KILN_OUT_DIR, KILN_STEPS_DIR, KILN_WORK_DIR, NORMALIZE_RULES, planBuild, stepScript } from './plan.js';
export type { Plan, PlannedStep } from './plan.js';
export type { BuildVariation, EngineVariation, PlanVariation } from './variation.js';
