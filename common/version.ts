/** The package's version, from package.json (imported as JSON: inlined by the bundle, read by tsx). */
const { version } = (await import('../package.json', { with: { type: 'json' } })).default;

export const VERSION: string = version;
