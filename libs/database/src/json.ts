type JsonScalar = string | number | boolean | null;

/**
 * What a jsonb column holds. Nested values are plain `object`: a recursive JSON type sends
 * TypeORM's partial-update types into infinite instantiation.
 */
export type JsonObject = { [key: string]: JsonScalar | JsonScalar[] | object };
