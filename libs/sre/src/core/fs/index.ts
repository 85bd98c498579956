export * from './acl-narrowing';
export * from './atomic-file';
export * from './bytes';
export * from './expiry';
export * from './file-pair-store';
export * from './fs-util';
export * from './header-codec';
export * from './keyed-lock';
