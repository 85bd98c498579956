import type * as CIP from '@aws-sdk/client-cognito-identity-provider';
import type { AwsClientConfig } from '../../core/aws-client';
import { classifyAwsError, wrapAwsError } from '../../core/aws-errors';
import { awsServiceConfig, callOptions, type AwsServiceSettings } from '../../core/aws-service';
import type { ConnectorContext } from '../../core/backend';

type Sdk = typeof CIP;

/** A user's groups as the team resolution reads them. */
export interface CognitoGroup {
  name: string;
  precedence?: number;
}

/** 60 groups a page (Cognito's maximum); 100 pages is far beyond Cognito's 10 000 groups per pool. */
const PAGE = 60;
const MAX_PAGES = 100;

/**
 * The Cognito user pool calls of AWSAccount over one SDK client, each time boxed: a missing user
 * or group is `undefined`, any other failure a typed error naming the operation and the user or
 * group (never an attribute value).
 */
export class CognitoPool {
  private readonly sdk: Sdk;
  private readonly client: CIP.CognitoIdentityProviderClient;

  constructor(
    private readonly userPoolId: string,
    private readonly settings: AwsServiceSettings,
    private readonly context: ConnectorContext<{ aws?: AwsClientConfig }>,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK loads only when configured
    this.sdk = require('@aws-sdk/client-cognito-identity-provider') as Sdk;
    this.client = new this.sdk.CognitoIdentityProviderClient(awsServiceConfig(settings, context.deps.aws));
  }

  close(): void {
    this.client.destroy();
  }

  /** Proves the pool exists and the credentials may read it. */
  async check(): Promise<void> {
    await this.send(
      'DescribeUserPool',
      this.userPoolId,
      new this.sdk.DescribeUserPoolCommand({ UserPoolId: this.userPoolId }),
    );
  }

  /** The groups of a user, every page; `undefined` when there is no such user. */
  async groupsOf(username: string): Promise<CognitoGroup[] | undefined> {
    const groups: CognitoGroup[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const command = new this.sdk.AdminListGroupsForUserCommand({
        UserPoolId: this.userPoolId,
        Username: username,
        Limit: PAGE,
        NextToken: token,
      });
      const out = await this.orMissing(this.send('AdminListGroupsForUser', username, command));
      if (out === undefined) return undefined;
      for (const group of out.Groups ?? [])
        if (group.GroupName) groups.push({ name: group.GroupName, precedence: group.Precedence });
      token = out.NextToken;
      if (!token) break;
    }
    return groups;
  }

  /** A user's attributes by name; `undefined` when there is no such user. */
  async attributesOf(username: string): Promise<Map<string, string> | undefined> {
    const command = new this.sdk.AdminGetUserCommand({ UserPoolId: this.userPoolId, Username: username });
    const out = await this.orMissing(this.send('AdminGetUser', username, command));
    if (out === undefined) return undefined;
    return new Map((out.UserAttributes ?? []).map((a: CIP.AttributeType) => [a.Name ?? '', a.Value ?? '']));
  }

  /** A group's description; `undefined` when there is no such group. */
  async descriptionOf(group: string): Promise<string | undefined> {
    const command = new this.sdk.GetGroupCommand({ UserPoolId: this.userPoolId, GroupName: group });
    const out = await this.orMissing(this.send('GetGroup', group, command));
    return out === undefined ? undefined : (out.Group?.Description ?? '');
  }

  private async orMissing<T>(call: Promise<T>): Promise<T | undefined> {
    try {
      return await call;
    } catch (error) {
      if (classifyAwsError((error as { cause?: unknown }).cause) === 'not-found') return undefined;
      throw error;
    }
  }

  private async send(operation: string, subject: string, command: object): Promise<any> {
    try {
      return await this.client.send(command as CIP.GetGroupCommand, callOptions(this.settings));
    } catch (error) {
      throw wrapAwsError(this.context, operation, subject, error);
    }
  }
}
