// Names and labels of faass's containers, shared by the runner, the service app and faassctl
// (kept apart from the code that loads dockerode, so importing them costs nothing).
export const LABEL = 'faass.function'; // every container of a function or service: its name
export const DEFINITION_LABEL = 'faass.definition'; // a service container: hash of its create options
export const serviceContainerName = (name: string): string => `faass-svc-${name}`;
