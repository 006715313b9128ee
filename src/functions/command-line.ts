// How a function's command= line becomes an argv, for a process and inside a container alike.
const SIMPLE_COMMAND_RE = /^[A-Za-z0-9_./=:,@%+\- ]+$/;

// A command line without shell syntax runs directly (one exec instead of two); anything else through sh.
export function splitCommand(command: string): string[] {
  const cmd = command.trim();
  return SIMPLE_COMMAND_RE.test(cmd) ? cmd.split(/ +/) : ['/bin/sh', '-c', cmd];
}
