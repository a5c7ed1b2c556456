/**
 * The alarm topic's subscriber: each CloudWatch alarm notification becomes a chat message on the
 * platform's channels (those not scoped to projects, that want `CloudWatch Alarm`), with a link to
 * the dashboard. A failed channel fails the call: Lambda retries SNS's asynchronous delivery, then
 * the subscription's dead-letter queue keeps the notification.
 */
import type { SNSEvent } from 'aws-lambda';
import { config as platformConfig } from '../../shared/config.ts';
import { lambda } from '../../shared/lambda.ts';
import { logger } from '../../shared/logger.ts';
import { ALARM_EVENT_TYPE, alarmMessage, parseAlarmNotification } from '../../shared/notify/alarm.ts';
import { channelsFor, InvalidChatConfig, loadChatConfig } from '../../shared/notify/config.ts';
import { ChatDeliveryFailed } from '../../shared/notify/safe-fetch.ts';

async function notifyAlarms(event: SNSEvent): Promise<void> {
  const alarms = event.Records.map((record) => parseAlarmNotification(record.Sns.Message));
  const pending = loadChatConfig();
  if (!pending || !alarms.some(Boolean)) return;
  let config: Awaited<typeof pending>;
  try {
    config = await pending;
  } catch (error) {
    if (!(error instanceof InvalidChatConfig)) throw error;
    logger.error('Chat configuration is invalid; alarm not sent', { reason: error.message });
    return;
  }
  const targets = channelsFor(config, { type: ALARM_EVENT_TYPE });
  const failures: string[] = [];
  for (const alarm of alarms) {
    if (!alarm) continue;
    const message = alarmMessage(alarm, platformConfig.dashboardUrl);
    const sent = await Promise.allSettled(targets.map(({ channel }) => channel.send(message)));
    sent.forEach((result, i) => {
      if (result.status === 'rejected') failures.push(`${targets[i]?.id}: ${(result.reason as Error).message}`);
    });
    logger.info('Alarm sent to chat', { alarm: alarm.AlarmName, state: alarm.NewStateValue, channels: targets.length });
  }
  if (failures.length > 0)
    throw new ChatDeliveryFailed(`${failures.length} alarm message(s) failed: ${failures.join('; ')}`);
}

export const handler = lambda(notifyAlarms);
