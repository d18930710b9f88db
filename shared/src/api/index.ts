/** The API's schemas and their types in one import (shared/src/api/common.ts says how they are used). */
export * from './account';
export * from './common';
export * from './messages';
export * from './privacy';
export * from './push';
export * from './records';
export * from './routes';
export * from './addon-view';
