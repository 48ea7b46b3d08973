export { createFeedbackAgent, feedbackLink, renderSurvey } from './agent.js';
export type { FeedbackAgent, FeedbackAgentOptions } from './agent.js';
export { FeedbackStats } from './stats.js';
export type { FeedbackSummary } from './stats.js';
export type { FeedbackChannel, FeedbackGateway, FeedbackNotification, FeedbackRequested, PreferredChannelLookup } from './ports.js';
