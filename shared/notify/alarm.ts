/**
 * CloudWatch alarm notifications (the JSON an alarm publishes to SNS) as chat messages for the
 * platform's channels (ADR 28). The notification is AWS's, but its text ends in people's chat: every
 * read is defensive, every value one short line, and the adapters escape it like any other text.
 */
import type { ChatMessage, Severity } from './channels.ts';
import { instant, line } from './render.ts';

/** The event type channels name in `events` to get alarms; project-scoped channels never do. */
export const ALARM_EVENT_TYPE = 'CloudWatch Alarm';

/** The fields of AWS's notification that a message uses (the rest, e.g. Trigger, stays out of chat). */
export interface AlarmNotification {
  AlarmName: string;
  AlarmDescription?: string | null;
  NewStateValue: string;
  OldStateValue?: string;
  NewStateReason?: string;
  StateChangeTime?: string;
  AlarmArn?: string;
  AWSAccountId?: string;
}

const STATES: Record<string, { severity: Severity; verb: string }> = {
  ALARM: { severity: 'failure', verb: 'Alarm' },
  OK: { severity: 'success', verb: 'Resolved' },
  INSUFFICIENT_DATA: { severity: 'warning', verb: 'No data' },
};

/** The notification in an SNS message, or undefined when the message is not one (a test publish, a subscription note). */
export function parseAlarmNotification(message: string): AlarmNotification | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const alarm = value as Record<string, unknown>;
  if (typeof alarm.AlarmName !== 'string' || typeof alarm.NewStateValue !== 'string') return undefined;
  return alarm as unknown as AlarmNotification;
}

/** One message per state change: what went wrong (or recovered), why, and the dashboard to look at. */
export function alarmMessage(alarm: AlarmNotification, dashboardUrl: string | undefined): ChatMessage {
  const state = STATES[alarm.NewStateValue] ?? { severity: 'warning', verb: line(alarm.NewStateValue) };
  const region = alarm.AlarmArn?.split(':')[3];
  const fields: [string, string][] = [
    ['State', `${line(alarm.OldStateValue ?? '?')} → ${line(alarm.NewStateValue)}`],
    ...(region ? [['Region', line(region)] as [string, string]] : []),
    ...(alarm.AWSAccountId ? [['Account', line(alarm.AWSAccountId)] as [string, string]] : []),
  ];
  const since = instant(alarm.StateChangeTime);
  return {
    title: `${state.verb}: ${line(alarm.AlarmName)}`,
    text: [alarm.AlarmDescription, alarm.NewStateReason]
      .filter((part): part is string => typeof part === 'string' && part.trim() !== '')
      .map(line)
      .join('\n'),
    fields,
    ...(dashboardUrl ? { link: { label: 'Open the dashboard', url: dashboardUrl } } : {}),
    severity: state.severity,
    footer: `Slipway · CloudWatch alarm${since ? ` · ${since}` : ''}`,
  };
}
