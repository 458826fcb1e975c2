// What a JSON Schema enforces, for comparing a schema declared with TypeBox to the hand-written one it replaced.

/** Plain JSON without `description`s (the JSDoc that moved into the schema), `required` sorted: what ajv enforces. */
export function rules(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) => {
    if (key === 'required' && Array.isArray(value)) return [...(value as string[])].sort();
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'description' in value) {
      const { description: _, ...rest } = value as Record<string, unknown>;
      return rest;
    }
    return value;
  });
}
