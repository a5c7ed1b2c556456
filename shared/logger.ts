import { Logger } from '@aws-lambda-powertools/logger';

/** The one structured logger every function writes through (JSON lines, Lambda context injected per call). */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'slipway' });
