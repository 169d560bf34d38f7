// Makes protobufjs decode 64-bit integers as JavaScript numbers, as the generated types declare.
// The channel's 64-bit fields are epoch milliseconds and money in minor units, far below 2^53.
// Must run before gen/channel.js is evaluated (its prototypes take defaults from util.Long).
import $protobuf from 'protobufjs/minimal.js';

$protobuf.util.Long = undefined;
$protobuf.configure();
