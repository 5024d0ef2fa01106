#!/usr/bin/env node
// The crmkit deal guard plugin in Node.js: it refuses deals above a limit
// (DEALGUARD_LIMIT, in minor units; default 10,000.00) that have no
// company, and normalises deal names. It speaks the same protocol as the
// Go plugins (plugins/proto/plugin.proto) through go-plugin's handshake,
// with mutual TLS, and needs no Go.
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const forge = require('node-forge');

const MAGIC_COOKIE_KEY = 'CRMKIT_PLUGIN';
const MAGIC_COOKIE_VALUE = '9f1c6e0a-crmkit-plugin';
const PROTOCOL_VERSION = 2;
const LIMIT = Number.parseInt(process.env.DEALGUARD_LIMIT || '1000000', 10);

function log(level, message, attrs = {}) {
  process.stderr.write(JSON.stringify({ '@level': level, '@message': message, ...attrs }) + '\n');
}

function load(file) {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, {
    keepCase: true, longs: String, enums: String, defaults: true,
  }));
}

// The deal guard itself.
function before(req) {
  const deal = JSON.parse(req.record.toString('utf8'));
  const amount = (deal.amount && deal.amount.amount) || 0;
  if (amount > LIMIT && !deal.company_id) {
    const units = Math.floor(LIMIT / 100);
    const cents = String(LIMIT % 100).padStart(2, '0');
    return { veto: true, reason: `deals over ${units}.${cents} need a company`, changes: [] };
  }
  const name = normalise(deal.name || '');
  if (name !== deal.name) {
    return { veto: false, reason: '', changes: [{ field: 'name', json: Buffer.from(JSON.stringify(name)) }] };
  }
  return { veto: false, reason: '', changes: [] };
}

function normalise(s) {
  const t = s.split(/\s+/).filter(Boolean).join(' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

// serverCert makes the one-time certificate go-plugin's AutoMTLS expects
// back from the plugin: self-signed, for "localhost".
function serverCert() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = '01' + crypto.randomBytes(15).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 30_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600 * 1000);
  const attrs = [{ name: 'commonName', value: 'localhost' }, { name: 'organizationName', value: 'crmkit' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return { keyPem: privateKey, certPem: forge.pki.certificateToPem(cert), derBase64: der.toString('base64').replace(/=+$/, '') };
}

function main() {
  if (process.env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    console.error('This is a crmkit plugin: the crmkit plugin host runs it.');
    process.exit(1);
  }
  const offered = (process.env.PLUGIN_PROTOCOL_VERSIONS || '').split(',').map(Number);
  const version = Math.max(...offered.filter((v) => v >= 1 && v <= PROTOCOL_VERSION));
  if (!Number.isFinite(version)) {
    console.error(`no common protocol version in ${offered}`);
    process.exit(1);
  }

  const contract = load(path.join(__dirname, '..', '..', '..', 'plugins', 'proto', 'plugin.proto')).crmkit.plugin.v1;
  const health = load(path.join(__dirname, 'health.proto')).grpc.health.v1;
  const controller = load(path.join(__dirname, 'go-plugin.proto')).plugin;

  const server = new grpc.Server();
  server.addService(contract.Plugin.service, {
    Describe: (call, cb) => cb(null, {
      name: 'dealguard-node', version: '1.0.0', events: [], before: ['deal.created', 'deal.updated'], capabilities: [],
    }),
    Before: (call, cb) => {
      try {
        cb(null, before(call.request));
      } catch (err) {
        cb({ code: grpc.status.UNKNOWN, message: String(err) });
      }
    },
    Deliver: (call, cb) => cb(null, { acknowledged: call.request.events.length }),
  });
  server.addService(health.Health.service, { Check: (call, cb) => cb(null, { status: 'SERVING' }) });
  server.addService(controller.GRPCController.service, {
    Shutdown: (call, cb) => {
      cb(null, {});
      setImmediate(() => server.tryShutdown(() => process.exit(0)));
    },
  });

  const cert = serverCert();
  const creds = grpc.ServerCredentials.createSsl(
    Buffer.from(process.env.PLUGIN_CLIENT_CERT || ''),
    [{ private_key: Buffer.from(cert.keyPem), cert_chain: Buffer.from(cert.certPem) }],
    true,
  );
  server.bindAsync('127.0.0.1:0', creds, (err, port) => {
    if (err) {
      console.error(err);
      process.exit(1);
    }
    process.stdout.write(`1|${version}|tcp|127.0.0.1:${port}|grpc|${cert.derBase64}\n`);
    log('info', 'deal guard ready', { port, protocol: version });
  });

  // Exit with the host, however it ends.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(3);
  }, 200).unref();
}

main();
