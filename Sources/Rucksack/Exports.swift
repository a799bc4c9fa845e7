// `import Rucksack` brings the numerical core along.
@_exported import RucksackCore
