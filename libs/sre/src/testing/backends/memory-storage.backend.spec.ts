import { describeStorageBackend } from '../storage.contract';
import { MemoryStorageBackend } from './memory-storage.backend';

describeStorageBackend('MemoryStorage', () => new MemoryStorageBackend());
