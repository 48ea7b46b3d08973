/** The agent kinds, by the name `pitwall agent <kind>` takes (apart from compose.ts so the CLI parses flags without loading it). */
export const AGENT_KINDS = ['analysis', 'engagement', 'scheduling', 'feedback'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];
