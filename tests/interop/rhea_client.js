// rhea (JavaScript AMQP 1.0) as a client of a broker, for tests/interop/test_broker_clients.py.
//
//   node rhea_client.js roundtrip PORT ADDRESS [USER PASSWORD]
//       Sends messages with every section kind (but the footer) to ADDRESS, receives them back, and
//       checks that each arrived byte for byte as rhea encoded it. Prints one JSON
//       object; exit 0 when every message came back exact.
//   node rhea_client.js receive PORT ADDRESS COUNT
//       Receives COUNT messages (accepting each) and prints one JSON object per
//       message: its bytes as received (hex) and the sections as rhea decoded them.
//
// Needs NODE_PATH to hold rhea (../shared/peers/start-rhea-broker installs it).
// Gives up (exit 2) after 20 s: a test never waits for ever.
'use strict';

const rhea = require('rhea');

const [mode, portText, address, ...rest] = process.argv.slice(2);
const port = Number(portText);

// Keep each received message's bytes: rhea hands out only the decoded message.
const decode = rhea.message.decode;
rhea.message.decode = function (buffer) {
    const msg = decode(buffer);
    Object.defineProperty(msg, 'raw', {value: Buffer.from(buffer), enumerable: false});
    return msg;
};

setTimeout(function () {
    console.log(JSON.stringify({error: 'timed out after 20 s'}));
    process.exit(2);
}, 20000).unref();

function connect(options) {
    const container = rhea.create_container({id: 'rhea-client-' + process.pid});
    const conn = container.connect(Object.assign({host: '127.0.0.1', port: port, reconnect: false},
                                                 options));
    conn.on('connection_error', function (ctx) { fail('connection error', ctx.connection.error); });
    conn.on('disconnected', function (ctx) {
        if (!done) fail('disconnected', ctx.error && String(ctx.error));
    });
    return conn;
}

let done = false;

function fail(what, detail) {
    console.log(JSON.stringify({error: what, detail: detail === undefined ? null : detail}));
    process.exit(1);
}

function finish(conn, result, code) {
    done = true;
    console.log(JSON.stringify(result));
    conn.close();
    conn.on('connection_close', function () { process.exit(code); });
    setTimeout(function () { process.exit(code); }, 2000).unref();
}

function messages() {
    const T0 = new Date(Date.UTC(2026, 10, 26, 12, 0, 0, 500));
    return [
        {   // every section, a single data section as the body
            durable: true, priority: 7, ttl: 60000, first_acquirer: true, delivery_count: 2,
            delivery_annotations: {'x-opt-da': 'delivery'},
            message_annotations: {'x-opt-ma': 'annotated', 'x-opt-n': 42},
            message_id: 'id-rhea-1', user_id: Buffer.from('rhea-user'), to: address,
            subject: 'every section', reply_to: 'replies',
            correlation_id: rhea.types.wrap_ulong(77), content_type: 'application/octet-stream',
            content_encoding: 'binary', absolute_expiry_time: T0, creation_time: T0,
            group_id: 'group', group_sequence: 3, reply_to_group_id: 'reply-group',
            application_properties: {s: 'text', n: 5, b: true, f: 1.5, neg: -7},
            body: rhea.message.data_section(Buffer.from([0, 1, 2, 3, 254, 255])),
            // No footer: rhea 3.0.5 encodes it before the body, against 3.2's order, and a
            // strict receiver (ours) refuses that message with amqp:decode-error.
        },
        {subject: 'amqp-value string', body: 'a value body'},
        {subject: 'amqp-value map', body: {a: [1, 'two', true], nested: {x: null}}},
        {subject: 'amqp-sequence', body: rhea.message.sequence_section([1, 'two', false])},
        {subject: 'two data sections',
         body: rhea.message.data_sections([Buffer.from('first'), Buffer.from('second')])},
        {subject: 'two amqp-sequences', body: rhea.message.sequence_sections([[1, 2], ['three']])},
        {subject: 'large', body: rhea.message.data_section(Buffer.alloc(300 * 1024, 7))},
    ];
}

function roundtrip() {
    const [user, password] = rest;
    const conn = connect(user ? {username: user, password: password} : {});
    const sent = messages();
    const encoded = sent.map(function (m) { return rhea.message.encode(m); });
    let accepted = 0;
    let next = 0;
    const sender = conn.open_sender(address);
    sender.on('sendable', function () {
        while (next < sent.length && sender.sendable()) sender.send(sent[next++]);
    });
    sender.on('accepted', function () {
        if (++accepted === sent.length) receiveBack();
    });
    sender.on('rejected', function (ctx) { fail('rejected', ctx.delivery.remote_state); });

    function receiveBack() {
        const received = [];
        const receiver = conn.open_receiver({source: address, credit_window: 20, autoaccept: true});
        receiver.on('message', function (ctx) {
            received.push(ctx.message);
            if (received.length < sent.length) return;
            const mismatches = [];
            received.forEach(function (m, i) {
                if (!m.raw.equals(encoded[i])) {
                    mismatches.push({index: i, sent: encoded[i].length, received: m.raw.length});
                }
            });
            finish(conn, {count: received.length, mismatches: mismatches,
                          subjects: received.map(function (m) { return m.subject || null; })},
                   mismatches.length ? 1 : 0);
        });
    }
}

function receive() {
    const count = Number(rest[0]);
    const conn = connect({});
    const out = [];
    const receiver = conn.open_receiver({source: address, credit_window: count, autoaccept: true});
    receiver.on('message', function (ctx) {
        const m = ctx.message;
        out.push({hex: m.raw.toString('hex'), message: m});
        if (out.length === count) {
            done = true;
            out.forEach(function (o) { console.log(JSON.stringify(o)); });
            conn.close();
            conn.on('connection_close', function () { process.exit(0); });
        }
    });
}

if (mode === 'roundtrip') roundtrip();
else if (mode === 'receive') receive();
else fail('usage: rhea_client.js roundtrip|receive PORT ADDRESS ...');
