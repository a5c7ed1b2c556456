import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ENV } from '../../shared/config.ts';
import type { Capability, FunctionName, FunctionSpec, Setting } from '../manifest.ts';
import type { SlipwayConfig } from './config.ts';
import { dashboardUrl } from './dashboard-url.ts';
import {
  type AuditCheckpoints,
  type ClusterAccess,
  type CursorKey,
  PlatformFunction,
  type RunWorkflowNames,
  type ScheduleTarget,
  type Workflows,
} from './platform-function.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export type Functions = Readonly<Partial<Record<FunctionName, PlatformFunction>>>;

/** What a stack can grant its functions; a capability whose target is absent here is a wiring bug. */
export interface Reach {
  workflows?: Workflows;
  /** The state machines' names (`slipway-<stage>-deploy`): execution ARNs are built from them. */
  workflowNames?: Readonly<Record<keyof Workflows, string>>;
  bus?: IEventBus;
  clusterAccess?: ClusterAccess;
  chatSecret?: ISecret;
  /** The chat apps' credentials (issue 13): the chat function and the notifier read it. */
  chatApps?: ISecret;
  /** The secret holding the cursor signing key, and which version of it the functions get. */
  cursorKey?: CursorKey;
  auditCheckpoints?: AuditCheckpoints;
  /** The build credential secrets' name prefix: only the stack of the build steps grants it. */
  buildSecretPrefix?: string;
  /** The Git provider tokens' name prefix: only the commit status function is granted it. */
  gitTokenSecretPrefix?: string;
  /** The machines a run's cancel stops, by name (the pipeline step function is built before them). */
  runs?: RunWorkflowNames;
  /** The deploy and rollback machines by name, for a function built before them that starts them (schedule-fire). */
  launches?: Readonly<Record<'deploy' | 'rollback', string>>;
  /** The Scheduler group, role, fire function and dead-letter queue the schedules API puts schedules with. */
  schedules?: ScheduleTarget;
}

/** Where a manifest function is built: API functions in the ApiStack, every other trigger in the DeliveryStack. */
export const isApiFunction = (spec: FunctionSpec): boolean => (spec.trigger ?? 'api') === 'api';

/**
 * One PlatformFunction per spec, each granted its table access and then exactly its manifest
 * capabilities (least privilege: nothing a spec does not name).
 */
export function createFunctions(
  scope: Construct,
  specs: readonly FunctionSpec[],
  { config, table, reach }: { config: SlipwayConfig; table: ITableV2; reach: Reach },
): Functions {
  const fns: Partial<Record<FunctionName, PlatformFunction>> = {};
  for (const spec of specs) {
    const fn = new PlatformFunction(scope, `${pascal(spec.name)}Function`, {
      entry: join(repoRoot, spec.entry),
      description: `Slipway ${config.stage}: ${spec.description}`,
      memoryMb: spec.memoryMb,
      timeoutSeconds: spec.timeoutSeconds,
      logLevel: config.logLevel,
      environment: {
        [ENV.adminGroups]: config.adminGroups,
        [ENV.groupsClaim]: config.groupsClaim,
        ...(config.groupsDelimiter ? { [ENV.groupsDelimiter]: config.groupsDelimiter } : {}),
        ...(config.publicUrl ? { [ENV.publicUrl]: config.publicUrl } : {}),
        ...settingsOf(spec, config),
      },
    });
    if (spec.tableAccess !== 'none') fn.bindTable({ table, access: spec.tableAccess });
    for (const capability of spec.capabilities ?? []) grant(fn, spec.name, capability, { ...reach, table }, config);
    fns[spec.name] = fn;
  }
  return fns;
}

/** The platform settings a function reads, as environment variables; an unset one is left out. */
function settingsOf(spec: FunctionSpec, config: SlipwayConfig): Record<string, string> {
  const values: Record<Setting, [string, string | undefined]> = {
    'reserved-namespaces': [ENV.reservedNamespaces, config.reservedNamespaces.join(',') || undefined],
    'build-cluster': [ENV.buildClusterId, config.buildClusterId],
    'build-namespace': [ENV.buildNamespace, config.buildNamespace],
    'build-image': [ENV.buildImage, config.buildImage],
    'git-private-hosts': [ENV.gitAllowPrivateHosts, config.gitPrivateHosts.join(',') || undefined],
    dashboard: [ENV.dashboardUrl, dashboardUrl(config.stage)],
    'chat-hosts': [ENV.chatHosts, config.chatHosts.join(',') || undefined],
    'dora-rollback-window': [ENV.doraRollbackWindowHours, String(config.doraRollbackWindowHours)],
  };
  return Object.fromEntries(
    (spec.settings ?? []).flatMap((setting) => {
      const [name, value] = values[setting];
      return value ? [[name, value]] : [];
    }),
  );
}

function grant(
  fn: PlatformFunction,
  name: FunctionName,
  capability: Capability,
  reach: Reach & { table: ITableV2 },
  config: SlipwayConfig,
): void {
  const { workflows, workflowNames, bus, clusterAccess, chatSecret, cursorKey, auditCheckpoints, table } = reach;
  const { buildSecretPrefix, gitTokenSecretPrefix, runs, schedules } = reach;
  const delivery = workflows && { deploy: workflows.deploy, rollback: workflows.rollback };
  if (capability === 'start-workflows' && delivery && workflowNames) fn.bindWorkflowStarts(delivery, workflowNames);
  else if (capability === 'start-workflows' && reach.launches) fn.bindLaunchesByName(reach.launches);
  else if (capability === 'answer-approvals' && delivery) fn.bindTaskAnswers(delivery);
  else if (capability === 'start-builds' && workflows && workflowNames)
    fn.bindWorkflowStarts({ build: workflows.build }, workflowNames);
  else if (capability === 'build-secrets' && buildSecretPrefix) fn.bindBuildSecrets(buildSecretPrefix);
  else if (capability === 'git-tokens' && gitTokenSecretPrefix) fn.bindGitTokens(gitTokenSecretPrefix);
  else if (capability === 'run-pipelines' && runs) fn.bindRuns(runs, workflows?.pipeline ?? 'by-name');
  else if (capability === 'hook-secrets') fn.bindHookSecrets(config.hookSecretPrefix, true);
  else if (capability === 'read-hook-secrets') fn.bindHookSecrets(config.hookSecretPrefix, false);
  else if (capability === 'chat-apps' && reach.chatApps) fn.bindChatApps(reach.chatApps);
  else if (capability === 'channel-secrets') fn.bindChannelSecrets(config.chatChannelSecretPrefix, true);
  else if (capability === 'read-channel-secrets') fn.bindChannelSecrets(config.chatChannelSecretPrefix, false);
  else if (capability === 'cancel-runs' && runs) fn.bindRuns(runs);
  else if (capability === 'put-events' && bus) fn.bindBus(bus);
  else if (capability === 'cluster-secrets' && clusterAccess) fn.bindClusterAccess(clusterAccess);
  else if (capability === 'chat-secret' && chatSecret) fn.bindChatSecret(chatSecret);
  else if (capability === 'cluster-networks') fn.bindClusterNetworks(config.clusterAllowedNetworks);
  else if (capability === 'sign-cursors' && cursorKey) fn.bindCursorKey(cursorKey);
  else if (capability === 'record-events') fn.bindEventRecording(table);
  else if (capability === 'audit-checkpoints-read' && auditCheckpoints) fn.bindAuditCheckpointReads(auditCheckpoints);
  else if (capability === 'audit-checkpoints-write' && auditCheckpoints) fn.bindAuditCheckpointWrites(auditCheckpoints);
  else if (capability === 'manage-schedules' && schedules) fn.bindSchedules(schedules);
  else throw new Error(`${name} needs ${capability}, which its stack cannot grant`);
}

/** `approval-request` → `ApprovalRequest`: the functions' construct ids. */
export const pascal = (name: string): string =>
  name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** The function a stack must have built (the manifest names it as a target). */
export function functionNamed(fns: Functions, name: FunctionName): PlatformFunction {
  const fn = fns[name];
  if (!fn) throw new Error(`${name} is not built in this stack; check its trigger in manifest.ts`);
  return fn;
}
