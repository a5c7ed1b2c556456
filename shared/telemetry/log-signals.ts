/**
 * Log lines CloudWatch counts with a metric filter (infra/aws/observability-stack.ts): the message
 * is written here once, for the code that logs it and the filter that counts it (ADR 28).
 */

/** A StartExecution that failed: the deployment, build or run was recorded failed instead of started. */
export const WORKFLOW_START_FAILED = 'Workflow start failed';
