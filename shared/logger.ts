import { Logger } from '@aws-lambda-powertools/logger';
import { config } from './config.ts';

/** The one structured logger every function writes through (JSON lines, Lambda context injected per call). */
export const logger = new Logger({ serviceName: config.serviceName });
