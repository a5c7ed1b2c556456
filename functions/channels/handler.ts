import {
  createChannel,
  deleteChannel,
  getChannel,
  listChannels,
  testChannel,
  updateChannel,
} from '../../shared/chat/channels.ts';
import { type ChannelView, channelPatch, newChannel } from '../../shared/domain/channel.ts';
import { type ApiRequest, api } from '../../shared/http/api.ts';
import { expectedVersion } from '../../shared/http/etag.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId } from '../../shared/http/params.ts';
import { created, json, noContent, resource } from '../../shared/http/response.ts';

/** A project's chat channels (ADR 32); the notifier sends to them (shared/chat/channel-routing.ts). */
const base = '/api/v1/projects/{id}/channels';
const projectId = (req: ApiRequest) => pathId(req.params.id, 'prj', 'Project');
const channelId = (req: ApiRequest) => pathId(req.params.channel_id, 'chn', 'Channel');
const respondCreated = (channel: ChannelView) =>
  created(channel, `/api/v1/projects/${channel.project_id}/channels/${channel.id}`);

export const handler = api({
  [`POST ${base}`]: async (req) =>
    respondCreated(
      await createChannel(req.caller, projectId(req), req.body(newChannel), req.alsoCommit(respondCreated)),
    ),

  [`GET ${base}`]: async (req) =>
    json(200, await listChannels(req.caller, projectId(req), parsePageRequest(req.query))),

  [`GET ${base}/{channel_id}`]: async (req) =>
    resource(200, await getChannel(req.caller, projectId(req), channelId(req))),

  [`PATCH ${base}/{channel_id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    const patch = req.body(channelPatch);
    return resource(200, await updateChannel(req.caller, projectId(req), channelId(req), patch, expected));
  },

  [`DELETE ${base}/{channel_id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    await deleteChannel(req.caller, projectId(req), channelId(req), expected);
    return noContent();
  },

  /** Always 200 once the channel is found: `delivered` and the platform's answer say how the send went. */
  [`POST ${base}/{channel_id}/test`]: async (req) =>
    json(200, await testChannel(req.caller, projectId(req), channelId(req)), { 'cache-control': 'no-store' }),
});
