import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { AwsServiceSettings } from '../../core/aws-service';

export class AWSLambdaSettings extends AwsServiceSettings {
  /** The execution role every function runs as (the original created an IAM role per function and never removed it). */
  @IsString()
  @Matches(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, { message: 'must be an IAM role ARN' })
  role!: string;

  /** Function names start with it (keep it short: names hold 64 characters). */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{0,16}$/, { message: "up to 16 letters, digits, '-' or '_'" })
  functionPrefix?: string = 'sre-';

  /** The runtime when the config names none (the original's nodejs18.x is deprecated). */
  @IsOptional()
  @Matches(/^nodejs\d+\.x$/, { message: 'must be a Lambda Node.js runtime (nodejs22.x)' })
  runtime?: string = 'nodejs22.x';

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(900)
  timeoutSeconds?: number = 30;

  @IsOptional()
  @IsInt()
  @Min(128)
  @Max(10_240)
  memoryMb?: number = 256;

  /** Longest wait (ms) for a function to become active or updated (W44). */
  @IsOptional()
  @IsInt()
  @Min(1_000)
  @Max(900_000)
  deployWaitMs?: number = 120_000;

  /** Where dependencies are bundled from: an installed node_modules, resolved against the working dir. */
  @IsOptional()
  @IsString()
  packagesDir?: string = 'node_modules';
}
