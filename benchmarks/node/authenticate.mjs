// The Node peer of benchmarks/bench_authenticate.py: postalsys mailauth's authenticate()
// (SPF + DKIM + DMARC; ARC and BIMI disabled, as the Python side does neither) over the
// corpus that the Python script wrote, answering DNS from the same table through the
// `resolver` option. It times its own loop over the corpus, so process start-up and
// module loading are not counted.
//
//   node authenticate.mjs CORPUS.json [--repeat 7] [--warmup 5]
//       one pass for the verdicts, untimed passes for --warmup seconds (V8's optimizing
//       tiers need a few dozen passes to settle), then R timed rounds; prints one JSON object
//   node authenticate.mjs CORPUS.json --serve
//       one JSON line per command read on stdin: "verdicts", "warmup SECONDS", "round",
//       "quit" (the Python script alternates rounds with its peers)
//
// Run it with Node 22 from the npm package `node`: node_modules/.bin/node (npm install).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const { authenticate } = require('mailauth');
const mailauthVersion = require('mailauth/package.json').version;

const args = process.argv.slice(2);
const corpusPath = args.find(a => !a.startsWith('--'));
if (!corpusPath) {
    process.stderr.write('usage: node authenticate.mjs CORPUS.json [--repeat R] [--serve]\n');
    process.exit(2);
}
const repeatAt = args.indexOf('--repeat');
const repeat = repeatAt >= 0 ? Number(args[repeatAt + 1]) : 7;
const serve = args.includes('--serve');
const warmupAt = args.indexOf('--warmup');
const warmupSeconds = warmupAt >= 0 ? Number(args[warmupAt + 1]) : 5;

const corpus = JSON.parse(readFileSync(corpusPath, 'utf-8'));
const messages = corpus.messages.map(m => ({
    id: m.id,
    buf: Buffer.from(m.message, 'base64'),
    ip: m.ip,
    helo: m.helo,
    sender: m.mail_from
}));

// ---- DNS: mailauth.testing.FakeResolver's table, answered the way dns.promises.resolve does
const norm = name => String(name).toLowerCase().replace(/\.$/, '');

const table = new Map(); // name -> Map(rdtype -> answer in dns.promises.resolve's shape)
const existing = new Set(); // every name with records, and every name above one (RFC 8020)
for (const [rawName, types] of Object.entries(corpus.dns)) {
    const name = norm(rawName);
    const labels = name.split('.');
    for (let i = 0; i < labels.length; i++) {
        existing.add(labels.slice(i).join('.'));
    }
    const byType = table.get(name) || new Map();
    table.set(name, byType);
    for (const [rdtype, values] of Object.entries(types)) {
        let answer;
        switch (rdtype.toUpperCase()) {
            case 'TXT': // one record: a string, or a list of strings (its character-strings)
                answer = values.map(v => (Array.isArray(v) ? v.slice() : [v]));
                break;
            case 'MX':
                answer = values.map(v => {
                    const [pref, exchange] = String(v).trim().split(/\s+/);
                    return { priority: Number(pref), exchange: exchange.replace(/\.$/, '') };
                });
                break;
            default:
                answer = values.map(v => String(v).trim().replace(/\.$/, ''));
        }
        byType.set(rdtype.toUpperCase(), answer);
    }
}

const dnsError = (code, name, rr) => {
    const err = new Error(`query${code === 'ENODATA' ? 'Txt' : ''} ${code} ${name} (${rr})`);
    err.code = code;
    err.hostname = name;
    return err;
};

const copy = answer => answer.map(r => (Array.isArray(r) ? r.slice() : typeof r === 'object' ? { ...r } : r));

const resolver = async (rawName, rrtype = 'A') => {
    let name = norm(rawName);
    const rr = String(rrtype).toUpperCase();
    for (let hops = 0; hops < 16; hops++) {
        const byType = table.get(name);
        const found = byType?.get(rr);
        if (found && found.length) {
            return copy(found);
        }
        const cname = byType?.get('CNAME');
        if (cname && rr !== 'CNAME') {
            name = norm(cname[0]);
            continue;
        }
        throw dnsError(existing.has(name) ? 'ENODATA' : 'ENOTFOUND', rawName, rr);
    }
    throw dnsError('ESERVFAIL', rawName, rr);
};

// ---- one pass over the corpus
const OPTIONS = { mta: 'mx.receiver.example', resolver, disableArc: true, disableBimi: true };

const dkimVerdict = results => {
    if (!results || !results.length) {
        return 'none';
    }
    if (results.some(r => r.status?.result === 'pass')) {
        return 'pass';
    }
    return results[0].status?.result || 'none';
};

const verdictOf = res => ({
    spf: res.spf ? res.spf.status.result : 'none',
    dkim: dkimVerdict(res.dkim?.results),
    dmarc: res.dmarc ? res.dmarc.status.result : 'none',
    // what explains a verdict: each signature, the DMARC record and alignment
    detail: {
        dkim: (res.dkim?.results || []).map(r => `${r.signingDomain || '-'}:${r.status?.result}` +
            (r.status?.comment ? ` (${r.status.comment})` : '')),
        dmarc: res.dmarc
            ? { policy: res.dmarc.policy, p: res.dmarc.p, sp: res.dmarc.sp,
                domain: res.dmarc.domain, info: res.dmarc.info,
                alignment: res.dmarc.alignment, comment: res.dmarc.status?.comment }
            : { skipped: res.dmarcSkipReason || null },
        spfDomain: res.spf?.domain || null
    }
});

const pass = async collect => {
    const out = collect ? [] : null;
    for (const m of messages) {
        const res = await authenticate(m.buf, { ...OPTIONS, ip: m.ip, helo: m.helo, sender: m.sender });
        if (out) {
            out.push(verdictOf(res));
        }
    }
    return out;
};

const round = async () => {
    const t0 = performance.now();
    await pass(false);
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, rate: messages.length / seconds };
};

const warmup = async seconds => {
    const t0 = performance.now();
    let passes = 0;
    while ((performance.now() - t0) / 1000 < seconds) {
        await pass(false);
        passes++;
    }
    return { passes, seconds: (performance.now() - t0) / 1000 };
};

const header = { node: process.version, mailauth: mailauthVersion, messages: messages.length };

if (serve) {
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
        const cmd = line.trim();
        let reply;
        if (cmd === 'verdicts') {
            reply = { ...header, verdicts: await pass(true) };
        } else if (cmd.startsWith('warmup')) {
            reply = await warmup(Number(cmd.split(/\s+/)[1] || 0));
        } else if (cmd === 'round') {
            reply = await round();
        } else if (cmd === 'quit') {
            break;
        } else {
            reply = { error: `unknown command ${JSON.stringify(cmd)}` };
        }
        process.stdout.write(JSON.stringify(reply) + '\n');
    }
    rl.close();
} else {
    const verdicts = await pass(true);
    const warm = await warmup(warmupSeconds);
    const rounds = [];
    for (let i = 0; i < repeat; i++) {
        rounds.push(await round());
    }
    process.stdout.write(JSON.stringify({ ...header, warmup: warm, rounds, verdicts }) + '\n');
}
