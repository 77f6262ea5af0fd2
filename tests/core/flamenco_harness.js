// Runs a Flamenco 3 job type script outside Flamenco: stubs the `author` API, `print` and
// `path`, compiles one job and prints {job_type, tasks} (or {error}) as JSON.
//
//   node flamenco_harness.js <job_type.js> '<settings JSON>'
"use strict";
const fs = require("fs");
const nodePath = require("path");
const vm = require("vm");

const [scriptPath, settingsJson] = process.argv.slice(2);
const source = fs.readFileSync(scriptPath, "utf8");

function Task(name, type) {
    return {
        name: name, type: type, commands: [], dependencies: [],
        addCommand(cmd) { this.commands.push(cmd); },
        addDependency(task) { this.dependencies.push(task.name); },
    };
}

const logs = [];
const sandbox = {
    author: {
        Task: Task,
        Command: (type, parameters) => ({ type: type, parameters: parameters }),
    },
    print: (...args) => logs.push(args.join(" ")),
    path: { join: nodePath.join, dirname: nodePath.dirname, basename: nodePath.basename },
};
vm.createContext(sandbox);
// `const` at the top of a script is not a property of the context: expose it explicitly.
vm.runInContext(source + "\n;globalThis.__JOB_TYPE = JOB_TYPE;", sandbox, { filename: scriptPath });

const job = { name: "test", created: new Date(0), settings: JSON.parse(settingsJson), tasks: [],
              addTask(task) { this.tasks.push(task); } };
let out;
try {
    sandbox.compileJob(job);
    out = { job_type: sandbox.__JOB_TYPE, tasks: job.tasks.map(t => ({ name: t.name, type: t.type,
            commands: t.commands, dependencies: t.dependencies })), logs: logs };
} catch (err) {
    out = { error: String(err), logs: logs };
}
process.stdout.write(JSON.stringify(out));
