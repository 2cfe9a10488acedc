from twisted.application.service import ServiceMaker

zkos = ServiceMaker(
    "zkos-tw", "zkos_tw.tap", "A ZK-rollup sequencer node in the style of ZKsync OS", "zkos"
)
