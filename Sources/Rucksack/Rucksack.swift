// The library a Swift user imports. The numerical core comes along, so `import Rucksack` is
// enough; layers, losses, models and quantities join this target as they are built.
@_exported import RucksackCore
