import { Channels, type Channel } from '../channels.js';
import { MAX_TOKEN_LENGTH } from '../ids.js';
import { Streams } from '../subjects.js';
import { eventVersions, type EventVersion } from '../versions.js';
import { eventJsonSchema, JSON_SCHEMA_FORMAT, versionKey } from './json-schema.js';

export const ASYNCAPI_VERSION = '3.0.0';

/** A subject token no real id is: stands for a parameter while its subject function runs. */
const placeholder = (i: number) => `___${i}___`;

/** True when `subject` (concrete) falls under the NATS subject filter `filter`. */
function matchesFilter(subject: string, filter: string): boolean {
  const s = subject.split('.');
  const f = filter.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return s.length === f.length;
}

/**
 * The address of a channel, `reports.{trialId}.{patientId}`, from its own subject function:
 * whatever the function builds, the document says. Throws when a parameter does not appear
 * once, or when the stream named does not hold such subjects.
 */
export function channelAddress(name: string, channel: Channel): string {
  const concrete = channel.subject(...channel.params.map((_, i) => placeholder(i)));
  const stream = Streams[channel.stream];
  if (!stream.subjects.some((f: string) => matchesFilter(concrete, f))) {
    throw new Error(`channel ${name}: ${concrete} is not a subject of stream ${stream.name}`);
  }
  let address = concrete;
  channel.params.forEach((param, i) => {
    const parts = address.split(placeholder(i));
    if (parts.length !== 2) throw new Error(`channel ${name}: parameter ${param} is not used once`);
    address = parts.join(`{${param}}`);
  });
  return address;
}

const ref = (...path: string[]) => ({ $ref: `#/${path.join('/')}` });

/** The event versions a channel carries: every version of each of its union's types. */
function versionsOn(channel: Channel, all: EventVersion[]): EventVersion[] {
  const types = new Set(channel.events.options.map((o) => o.shape.type.value));
  return all.filter((v) => types.has(v.type));
}

function sortedEntries<T>(entries: [string, T][]): Record<string, T> {
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Cohort's events as an AsyncAPI 3.0 document, derived from the contracts' own code: the
 * channels from `Channels` (their addresses from the subject functions), the messages from the
 * stream unions and the superseded versions, each payload the event's JSON Schema (envelope
 * and data), and the operations from who sends and receives each channel. Deterministic: the
 * same code gives the same document, byte for byte.
 */
export function asyncApiDocument(opts: { version: string }): Record<string, unknown> {
  const all = eventVersions();
  const channels: [string, unknown][] = [];
  const operations: [string, unknown][] = [];
  for (const [name, channel] of Object.entries(Channels) as [string, Channel][]) {
    const versions = versionsOn(channel, all);
    channels.push([
      name,
      {
        address: channelAddress(name, channel),
        title: name,
        description: `${channel.description} Stream \`${channel.stream}\`.`,
        parameters: Object.fromEntries(
          channel.params.map((p) => [
            p,
            {
              description: `A subject token: [A-Za-z0-9_-], 1 to ${MAX_TOKEN_LENGTH} characters.`,
            },
          ]),
        ),
        messages: Object.fromEntries(
          versions.map((v) => [versionKey(v), ref('components', 'messages', versionKey(v))]),
        ),
      },
    ]);
    const messageRefs = (vs: EventVersion[]) =>
      vs.map((v) => ref('channels', name, 'messages', versionKey(v)));
    for (const service of channel.sentBy) {
      operations.push([
        `${service}.sends.${name}`,
        {
          action: 'send',
          channel: ref('channels', name),
          title: `${service} sends ${name}`,
          summary: 'Writes the latest version of each event.',
          messages: messageRefs(versions.filter((v) => v.latest)),
        },
      ]);
    }
    for (const service of channel.receivedBy) {
      operations.push([
        `${service}.receives.${name}`,
        {
          action: 'receive',
          channel: ref('channels', name),
          title: `${service} receives ${name}`,
          summary: 'Reads every version the stream holds, upcast to the latest.',
          messages: messageRefs(versions),
        },
      ]);
    }
  }
  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: 'Cohort events',
      version: opts.version,
      description:
        "The events Cohort's services exchange on NATS JetStream. Every message is a JSON " +
        'envelope (id, type, version, occurredAt, recordedAt, source, actor, reason, ' +
        'correlationId, causationId) around typed data; `type` and `version` say which schema ' +
        'it follows. A breaking change is a new version; streams keep the old events, and ' +
        "Cohort's readers upcast them to the latest version.",
    },
    defaultContentType: 'application/json',
    channels: Object.fromEntries(channels),
    operations: sortedEntries(operations),
    components: {
      schemas: Object.fromEntries(
        all.map((v) => [
          versionKey(v),
          { schemaFormat: JSON_SCHEMA_FORMAT, schema: eventJsonSchema(v) },
        ]),
      ),
      messages: Object.fromEntries(
        all.map((v) => [
          versionKey(v),
          {
            name: v.type,
            title: `${v.type} v${v.version}`,
            ...(v.latest ? {} : { summary: `Superseded by v${v.version + 1}; still in streams.` }),
            contentType: 'application/json',
            payload: ref('components', 'schemas', versionKey(v)),
          },
        ]),
      ),
    },
  };
}
