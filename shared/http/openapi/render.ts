/**
 * The OpenAPI document as one self-contained HTML page: no scripts, fonts or CDNs (the
 * platform runs offline), inline CSS only. Every text taken from the document is escaped.
 */
import { createHash } from 'node:crypto';
import type { JsonSchema, OpenApiDocument, OperationObject, ParameterObject, Ref, ResponseObject } from './document.ts';

const CSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
header,main{max-width:980px;margin:0 auto;padding:0 24px}header{padding-top:24px}
nav{columns:3 220px;font-size:14px}nav a{display:block}a{color:#1f5fbf}
h2{border-bottom:2px solid #d9dee7;margin-top:40px}h3{margin:0;font-size:17px}
article{background:#fff;border:1px solid #d9dee7;border-radius:6px;padding:16px;margin:16px 0}
code{font:13px ui-monospace,monospace;background:#eef1f5;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{text-align:left;border-top:1px solid #e5e8ee;padding:4px 8px;vertical-align:top}
ul.fields{list-style:none;padding-left:18px;border-left:2px solid #eef1f5;margin:4px 0}
.m{display:inline-block;min-width:62px;text-align:center;color:#fff;border-radius:4px;font:bold 13px ui-monospace,monospace;padding:2px 6px}
.get{background:#2f855a}.post{background:#2b6cb0}.put{background:#c05621}.patch{background:#6b46c1}.delete{background:#c53030}
.t{color:#6b7385;font-size:13px}.req{color:#c53030;font-size:12px}.lock{font-size:13px;color:#6b7385}`;

/** No scripts at all; the one inline stylesheet is allowed by its hash. */
export const docsContentSecurityPolicy = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'; frame-ancestors 'none'`;

export const escapeHtml = (text: unknown): string => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Escaped, with `code` spans and a leading `Label:` in bold. */
const prose = (text: string): string =>
  escapeHtml(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/^(\w+):/, '<strong>$1:</strong>');

const refName = (ref: string): string => ref.split('/').at(-1) ?? ref;
const schemaLink = (ref: string): string =>
  `<a href="#schema-${escapeHtml(refName(ref))}">${escapeHtml(refName(ref))}</a>`;
const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, '-');
const isRef = (value: object): value is Ref => '$ref' in value;
const itemsOf = (s: JsonSchema): JsonSchema | undefined =>
  typeof s.items === 'object' && !Array.isArray(s.items) ? s.items : undefined;

type Entry = [method: string, path: string, op: OperationObject];

export function renderDocs(doc: OpenApiDocument): string {
  const schemaAt = (schema: JsonSchema): JsonSchema =>
    schema.$ref ? (doc.components.schemas[refName(schema.$ref)] ?? {}) : schema;
  const parameterAt = (p: ParameterObject | Ref): ParameterObject | undefined =>
    isRef(p) ? doc.components.parameters[refName(p.$ref)] : p;

  const byTag = new Map(doc.tags.map((tag) => [tag.name, [] as Entry[]]));
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) byTag.get(op.tags[0] ?? '')?.push([method, path, op]);
  }

  const operation = ([method, path, op]: Entry) => `<article id="op-${escapeHtml(op.operationId)}">
<h3><span class="m ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>
<p>${prose(op.summary)}${op.description ? `<br>${prose(op.description)}` : ''}</p>
<p class="lock">${op.security ? 'Needs a bearer token.' : 'Public: no token needed.'}</p>
${parameters((op.parameters ?? []).map(parameterAt).filter((p) => p !== undefined))}
${op.requestBody ? requestBody(op.requestBody.content) : ''}
<h4>Responses</h4><table>${Object.entries(op.responses)
    .map(([status, r]) => response(status, r))
    .join('')}</table>
</article>`;

  const requestBody = (content: Record<string, { schema: JsonSchema }>) => {
    const [first] = Object.values(content);
    const schema = first?.schema ?? {};
    return `<h4>Body <span class="t">${Object.keys(content).map(escapeHtml).join(' or ')}${schema.$ref ? `, ${schemaLink(schema.$ref)}` : ''}</span></h4>${fields(schemaAt(schema))}`;
  };

  /** The fields inside a schema, nested: an object's properties, an array's items, each variant of a union. */
  const fields = (schema: JsonSchema): string => {
    const variants = schema.oneOf ?? schema.anyOf?.filter((s) => s.type !== 'null');
    if (variants && variants.length > 1)
      return `<ul class="fields">${variants.map((v, i) => `<li>variant ${i + 1}: ${summary(v, false)}${fields(v)}</li>`).join('')}</ul>`;
    if (variants?.[0]) return fields(variants[0]);
    const items = itemsOf(schema);
    if (items) return fields(items);
    const properties = Object.entries(schema.properties ?? {}) as [string, JsonSchema][];
    if (properties.length === 0) return '';
    return `<ul class="fields">${properties
      .map(
        ([name, s]) =>
          `<li><code>${escapeHtml(name)}</code> ${summary(s, schema.required?.includes(name) ?? false)}${fields(s)}</li>`,
      )
      .join('')}</ul>`;
  };

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(doc.info.title)}</title><style>${CSS}</style></head>
<body><header><h1>${escapeHtml(doc.info.title)} <span class="t">${escapeHtml(doc.info.version)}</span></h1>
${doc.info.description
  .split('\n\n')
  .map((p) => `<p>${prose(p)}</p>`)
  .join('\n')}
<p>Machine-readable: <a href="/api/v1/openapi.json">openapi.json</a> (OpenAPI ${escapeHtml(doc.openapi)}).</p>
<nav>${doc.tags.map((t) => `<a href="#tag-${slug(t.name)}">${escapeHtml(t.name)}</a>`).join('')}<a href="#schemas">Schemas</a></nav></header>
<main>${doc.tags
    .map(
      (t) => `<section id="tag-${slug(t.name)}"><h2>${escapeHtml(t.name)}</h2><p>${prose(t.description)}</p>
${(byTag.get(t.name) ?? []).map(operation).join('\n')}</section>`,
    )
    .join('\n')}
<section id="schemas"><h2>Schemas</h2>${Object.entries(doc.components.schemas)
    .map(
      ([name, s]) =>
        `<article id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3>${s.description ? `<p>${prose(s.description)}</p>` : ''}${fields(s)}</article>`,
    )
    .join('\n')}</section></main></body></html>`;
}

function parameters(list: ParameterObject[]): string {
  if (list.length === 0) return '';
  const rows = list.map(
    (p) =>
      `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${summary(p.schema, p.required)}</td><td>${prose(p.description)}</td></tr>`,
  );
  return `<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr>${rows.join('')}</table>`;
}

function response(status: string, r: ResponseObject): string {
  const bodies = Object.entries(r.content ?? {}).map(
    ([media, { schema }]) => `${escapeHtml(media)}${schema.$ref ? ` ${schemaLink(schema.$ref)}` : ''}`,
  );
  const headers = Object.keys(r.headers ?? {}).map((h) => `<code>${escapeHtml(h)}</code>`);
  return `<tr><td><strong>${escapeHtml(status)}</strong></td><td>${prose(r.description)}</td><td class="t">${[...bodies, ...headers].join('<br>')}</td></tr>`;
}

/** `string, required, 1..63 chars, pattern …` */
function summary(schema: JsonSchema, required: boolean): string {
  const parts = [typeOf(schema)];
  if (required) parts.push('<span class="req">required</span>');
  const s = schema.anyOf?.find((v) => v.type !== 'null') ?? schema;
  const items = itemsOf(s);
  const constraints = [
    s.enum && `one of ${s.enum.map((v) => escapeHtml(JSON.stringify(v))).join(', ')}`,
    s.const !== undefined && `= ${escapeHtml(JSON.stringify(s.const))}`,
    range(s.minLength, s.maxLength, ' chars'),
    range(s.minimum, s.maximum, ''),
    range(s.minItems, s.maxItems, ' items'),
    s.maxProperties !== undefined && `at most ${s.maxProperties} entries`,
    s.format && escapeHtml(s.format),
    s.pattern && `pattern <code>${escapeHtml(s.pattern)}</code>`,
    items?.pattern && `items match <code>${escapeHtml(items.pattern)}</code>`,
    typeof s.propertyNames === 'object' &&
      s.propertyNames.pattern &&
      `keys match <code>${escapeHtml(s.propertyNames.pattern)}</code>`,
    s.additionalProperties === false && 'no other fields',
    s.description && prose(s.description),
  ].filter(Boolean);
  return `<span class="t">${[...parts, ...constraints].join(', ')}</span>`;
}

function range(min: unknown, max: unknown, unit: string): string | undefined {
  if (min === undefined) return max === undefined ? undefined : `≤ ${max}${unit}`;
  return max === undefined ? `≥ ${min}${unit}` : `${min}..${max}${unit}`;
}

function typeOf(schema: JsonSchema): string {
  if (schema.$ref) return schemaLink(schema.$ref);
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' | ');
  if (schema.oneOf) return 'one of';
  const items = itemsOf(schema);
  if (schema.type === 'array' && items) return `array of ${typeOf(items)}`;
  if (schema.type === 'object' && schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    return `map of ${typeOf(schema.additionalProperties)}`;
  }
  return escapeHtml([schema.type ?? 'any'].flat().join(' | '));
}
