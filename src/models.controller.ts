import { Controller, Get } from '@nestjs/common';
import { AccessCandidate, type ModelEntry, ModelsProviderService } from 'nestjs-sre';
import { Team } from './candidate';

/** What `/models` shows of a model: its description and limits, never its credentials or settings. */
export interface ModelSummary {
  name: string;
  modelId?: string;
  provider?: string;
  label?: string;
  features?: string[];
  tags?: string[];
  tokens?: number;
  completionTokens?: number;
  enabled?: boolean;
}

/** `/models`: the models the caller's team can use (the built-ins, the team's additions, its custom models). */
@Controller('models')
export class ModelsController {
  constructor(private readonly models: ModelsProviderService) {}

  @Get()
  async list(@Team() team: AccessCandidate): Promise<{ models: ModelSummary[] }> {
    const map = await this.models.requester(team).getModels();
    return { models: Object.entries(map).map(([name, entry]) => summary(name, entry)) };
  }
}

function summary(name: string, entry: ModelEntry): ModelSummary {
  const { modelId, label, features, tags, tokens, completionTokens, enabled } = entry;
  return {
    name,
    modelId,
    provider: entry.provider ?? entry.llm,
    label,
    features,
    tags,
    tokens,
    completionTokens,
    enabled,
  };
}
