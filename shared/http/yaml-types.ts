/** The media types a YAML body may come as (the kernel knows them; only YAML routes bundle a parser). */
export const YAML_TYPES: ReadonlySet<string> = new Set(['application/yaml', 'application/x-yaml', 'text/yaml']);
