import { main } from './main.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Not a user error: a bug in vcpusim itself. Say so, with the stack, and exit 4.
    process.stderr.write(
      `vcpusim: internal error (please report): ${e instanceof Error ? e.stack : String(e)}\n`,
    );
    process.exitCode = 4;
  },
);
