// Collects the failed assertions of a TAP stream, with the names of the subtests they sit in and
// their YAML diagnostics, so the end of a long run can say what failed: CI keeps only the tail
// of a run's output, and a failure 6,000 lines up is otherwise lost.
class TapFailures {
  constructor() {
    this.names = []; // subtest names by depth (4 spaces a level)
    this.failures = [];
    this.open = null; // the failure whose YAML block is being read
  }

  line(text) {
    if (this.open) return this.yamlLine(text);
    const sub = /^( *)# Subtest: (.*)$/.exec(text);
    if (sub) {
      this.names.length = sub[1].length / 4;
      this.names.push(sub[2]);
      return;
    }
    const fail = /^( *)not ok \d+ - (.*?)(?: # time=[\d.]+m?s)?$/.exec(text);
    if (fail) {
      const depth = fail[1].length / 4;
      const path = [...this.names.slice(0, depth), fail[2]];
      this.open = { indent: fail[1] + '  ', path, yaml: [], inYaml: false };
      this.failures.push(this.open);
    }
  }

  yamlLine(text) {
    const f = this.open;
    if (!f.inYaml) {
      if (text === f.indent + '---') {
        f.inYaml = true;
        return;
      }
      this.open = null;
      return this.line(text);
    }
    if (text === f.indent + '...') {
      this.open = null;
      return;
    }
    if (f.yaml.length < 40) f.yaml.push(text.slice(f.indent.length));
  }

  // The failures whose path is not the prefix of another's: a file's failure is shown by its
  // failed assertions, not again as the file.
  leaves() {
    const key = (f) => f.path.join('\u0000');
    return this.failures.filter(
      (f) => !this.failures.some((g) => g !== f && key(g).startsWith(key(f) + '\u0000')),
    );
  }

  report() {
    const leaves = this.leaves();
    if (leaves.length === 0) return '';
    const out = [`\nWhat failed (${leaves.length}):`];
    for (const f of leaves.slice(0, 20)) {
      out.push(`- ${f.path.join(' > ')}`);
      for (const y of f.yaml) out.push(`    ${y}`);
    }
    if (leaves.length > 20) out.push(`... and ${leaves.length - 20} more (above)`);
    return out.join('\n') + '\n';
  }
}

module.exports = { TapFailures };
