// SPDX-License-Identifier: GPL-3.0-or-later
//
// Flamenco 3 job type: build Depth Cloud point clouds on the farm.
//
// Install: copy this file into the Manager's `scripts/` folder (next to flamenco-manager),
// restart the Manager, then in Blender's Flamenco add-on refresh the job types and pick
// "Depth Cloud Build". Each task runs, on any worker, independently:
//
//   {blender} {blenderArgs} shot.blend -c depth_cloud build --frames <all frames> --chunk K/N
//       --output <output> [--source ...] [--scene ...] [more options]
//
// The frame list is split by the command itself (`--chunk K/N`: the K-th of N contiguous,
// nearly equal slices), so steps like '1-240x3' work and every frame is built exactly once.
// Outputs are written atomically and existing ones are skipped, so a re-queued task resumes.

const JOB_TYPE = {
    label: "Depth Cloud Build",
    description: "Rendered depth/position passes -> point clouds (PLY per frame, .blend or USD per chunk)",
    settings: [
        // Settings for artists to determine:
        { key: "frames", type: "string", required: true,
          eval: "f'{C.scene.frame_start}-{C.scene.frame_end}' + (f'x{C.scene.frame_step}' if C.scene.frame_step > 1 else '')",
          evalInfo: { showLinkButton: true, description: "Scene frame range" },
          description: "Frames to build. Examples: '47', '1-240', '1-240x3' (step 3), '1-10,20,30-40x5'" },
        { key: "chunk_size", type: "int32", default: 10, propargs: { min: 1 }, visible: "submission",
          description: "At most this many frames per task" },
        { key: "source", type: "string", subtype: "file_path", required: false, visible: "submission",
          eval: "C.scene.depth_cloud.exr_path",
          description: "EXR per frame ('#' = frame number). Empty: the .blend's Depth Cloud settings" },
        { key: "output", type: "string", subtype: "file_path", required: true, visible: "submission",
          description: "out/cloud_####.ply (one PLY per frame), clouds_####.blend or cache_####.usdc (one per task; '#' becomes START-END)" },
        { key: "extra_args", type: "string", required: false, visible: "submission",
          description: "More build options, e.g. --convention RAY_DISTANCE --camera CamA --alpha" },
        { key: "overwrite", type: "bool", default: false, visible: "submission",
          description: "Rebuild outputs that already exist (default: skip them)" },
        { key: "allow_missing", type: "bool", default: false, visible: "submission",
          description: "Do not fail a task whose input frames are missing (they are reported either way)" },

        // Automatically evaluated settings:
        { key: "blendfile", type: "string", required: true, visible: "web",
          description: "Path of the .blend holding the camera and the Depth Cloud settings" },
        { key: "scene", type: "string", required: true, eval: "C.scene.name", visible: "web",
          description: "Name of the scene whose camera and settings are used" },
    ]
};


function compileJob(job) {
    print("Depth Cloud Build job submitted");
    const settings = job.settings;
    const frames = parseFrameRange(settings.frames);
    const chunkSize = settings.chunk_size > 0 ? settings.chunk_size : 1;
    const count = Math.max(1, Math.ceil(frames.length / chunkSize));
    if (count > 1 && !hasFramePlaceholder(settings.output) && !/\.ply$/i.test(settings.output)) {
        throw `output "${settings.output}" needs a '#' placeholder: every task writes its own range file`;
    }
    if (frames.length > 1 && /\.ply$/i.test(settings.output) && !hasFramePlaceholder(settings.output)) {
        throw `output "${settings.output}" needs a '#' frame placeholder for one PLY per frame`;
    }
    for (const task of authorBuildTasks(settings, frames, count)) {
        job.addTask(task);
    }
}

// One task per chunk; task K runs `--chunk K/count` over the whole frame list.
function authorBuildTasks(settings, frames, count) {
    const tasks = [];
    for (let k = 1; k <= count; k++) {
        const bounds = chunkBounds(frames.length, k, count);
        const first = frames[bounds[0]];
        const last = frames[bounds[1] - 1];
        const label = bounds[1] <= bounds[0] ? "none" : (first === last ? `${first}` : `${first}-${last}`);
        const task = author.Task(`depth-cloud-${k}of${count}-frames-${label}`, "blender");
        const command = author.Command("blender-render", {
            exe: "{blender}",
            exeArgs: "{blenderArgs}",
            argsBefore: [],
            blendfile: settings.blendfile,
            args: buildArgs(settings, k, count),
        });
        task.addCommand(command);
        tasks.push(task);
    }
    return tasks;
}

function buildArgs(settings, k, count) {
    // '--frames=...' so a range starting with a negative frame is not taken for an option
    let args = ["-c", "depth_cloud", "build",
                `--frames=${String(settings.frames).trim()}`,
                "--chunk", `${k}/${count}`,
                "--output", settings.output];
    if (settings.source) args = args.concat(["--source", settings.source]);
    if (settings.scene) args = args.concat(["--scene", settings.scene]);
    if (settings.overwrite) args.push("--overwrite");
    if (settings.allow_missing) args.push("--allow-missing");
    return args.concat(splitArgs(settings.extra_args || ""));
}

// ---------------------------------------------------------------- frames
// Mirrors depth_cloud/core/frames.py parse_frame_range and core/batch.py chunk_bounds;
// the command recomputes the split itself, so this only decides how many tasks to make.

function parseFrameRange(text) {
    text = String(text).trim();
    if (!text) throw "empty frame range";
    const frames = [];
    const seen = {};
    for (let chunk of text.split(",")) {
        chunk = chunk.trim();
        const m = /^(-?\d+)(?:\s*(?:-|\.\.|:)\s*(-?\d+)(?:\s*[x:]\s*(\d+))?)?$/.exec(chunk);
        if (!m) throw `bad frame range '${chunk}': use 'START-END', 'START-ENDxSTEP' or a frame number`;
        const start = parseInt(m[1], 10);
        const end = m[2] !== undefined ? parseInt(m[2], 10) : start;
        const step = m[3] ? parseInt(m[3], 10) : 1;
        if (step < 1 || end < start) throw `bad frame range '${chunk}': end must be >= start and step >= 1`;
        for (let f = start; f <= end; f += step) {
            if (!seen[f]) {
                seen[f] = true;
                frames.push(f);
            }
        }
    }
    return frames;
}

function chunkBounds(count, k, n) {
    return [Math.floor((k - 1) * count / n), Math.floor(k * count / n)];
}

function hasFramePlaceholder(path) {
    return /#|%0?\d*d/.test(String(path));
}

// Split extra options like a shell would ('single' and "double" quotes, no escapes).
function splitArgs(text) {
    const out = [];
    const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
    let m;
    let current = null;
    let lastEnd = -1;
    while ((m = re.exec(text)) !== null) {
        const piece = m[1] !== undefined ? m[1] : (m[2] !== undefined ? m[2] : m[3]);
        if (current !== null && m.index === lastEnd) {
            current += piece;           // adjacent pieces: --camera="Cam A"
            out[out.length - 1] = current;
        } else {
            current = piece;
            out.push(current);
        }
        lastEnd = re.lastIndex;
    }
    return out;
}
