import { Aws } from 'aws-cdk-lib';

/** The operators' dashboard (ObservabilityStack): one per stage, named so alarms and chat can link to it. */
export const dashboardName = (stage: string): string => `slipway-${stage}`;

/** Its console address in the stack's region (a CloudFormation token until deploy). */
export const dashboardUrl = (stage: string): string =>
  `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${dashboardName(stage)}`;
