// Moved to src/docker/image-build.ts; this re-export goes once lib/deploy.ts and
// faassctl/progress.ts import from there.
export * from '../docker/image-build';
