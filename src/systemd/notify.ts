// sd_notify(3) through the systemd project's binding; a no-op when NOTIFY_SOCKET is unset.
type SdNotify = { ready(): void; stopping(pid: number): void; sendStatus(text: string): void };

let binding: SdNotify | null | undefined;

function sd(): SdNotify | null {
  if (binding === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    binding = process.env.NOTIFY_SOCKET ? (require('sd-notify') as SdNotify) : null;
  }
  return binding;
}

export const notify = {
  ready: () => sd()?.ready(),
  stopping: () => sd()?.stopping(process.pid),
  status: (text: string) => sd()?.sendStatus(text),
};
