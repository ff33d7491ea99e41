// Run ../shared/peers/rhea_broker.js with an idle timeout on every connection it accepts.
//
// rhea_broker.js takes no idle-timeout option; this adds rhea's `idle_time_out`
// (ms, from RHEA_BROKER_IDLE_TIME_OUT_MS) to the options of its container.listen,
// which rhea gives to each accepted connection: rhea then advertises it in its
// open frame and drops a client that stays silent for too long (2.4.5).
//
//   NODE_PATH=.../node_modules RHEA_BROKER_PATH=.../rhea_broker.js \
//   RHEA_BROKER_IDLE_TIME_OUT_MS=1000 node rhea_broker_idle.js PORT
'use strict';
const rhea = require('rhea');
const idle = Number(process.env.RHEA_BROKER_IDLE_TIME_OUT_MS);
const create = rhea.create_container;
rhea.create_container = function () {
    const container = create.apply(this, arguments);
    const listen = container.listen;
    container.listen = function (options) {
        return listen.call(this, Object.assign({}, options, { idle_time_out: idle }));
    };
    return container;
};
require(process.env.RHEA_BROKER_PATH);
