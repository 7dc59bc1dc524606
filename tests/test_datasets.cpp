// Datasets: every reader on small files written by the test (tsv, folder, wds, cifar10/100, idx),
// their error messages, and brace expansion.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstring>
#include <string>

#include "data/dataset.h"
#include "tests/data_test_util.h"

using namespace hc;
using namespace hc_test;

// ---- helpers -------------------------------------------------------------------------------------

namespace {

// A CIFAR record: label byte(s), then 32x32 planar pixels where channel c of pixel p is
// (p + 50 * c + seed) mod 256.
std::string cifar_record(std::vector<uint8_t> labels, int seed) {
  std::string r(labels.begin(), labels.end());
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 1024; ++p) r.push_back(static_cast<char>((p + 50 * c + seed) & 0xff));
  return r;
}

}  // namespace

// ---- tsv -----------------------------------------------------------------------------------------

TEST_CASE("dataset: tsv reads relative paths, skips empty lines, reports missing images on get") {
  TempDir dir("tsv");
  write_file(dir / "imgs/a.png", encode_png(pattern_image(6, 4, 1)));
  write_file(dir / "imgs/b.png", encode_png(pattern_image(3, 5, 2)));
  write_file(dir / "captions.tsv",
             std::string("imgs/a.png\ta red thing\r\n\n") +
                 "imgs/b.png\ta blue thing with\ta tab  \n\nimgs/gone.png\tnothing here\n");
  auto ds = open_dataset("tsv:" + (dir / "captions.tsv"));
  REQUIRE(ds->size() == 3);
  CHECK_FALSE(ds->labelled());
  CHECK(ds->class_names().empty());
  CHECK(ds->describe().find("3 images") != std::string::npos);
  Sample s0 = ds->get(0);
  CHECK(s0.caption == "a red thing");
  CHECK(s0.label == -1);
  CHECK(s0.image.rgb == pattern_image(6, 4, 1).rgb);
  CHECK(s0.source == dir / "imgs/a.png");
  Sample s1 = ds->get(1);
  CHECK(s1.caption == "a blue thing with\ta tab");
  CHECK(s1.image.width == 3);
  std::string gone = dir / "imgs/gone.png";
  CHECK_THROWS_WITH_AS(ds->get(2), doctest::Contains(gone.c_str()), Error);
}

TEST_CASE("dataset: tsv malformed lines are errors with the file and line number") {
  TempDir dir("tsv_bad");
  std::string file = dir / "bad.tsv";
  write_file(file, "a.png\tok\n\nno tab on this line\n");
  CHECK_THROWS_WITH_AS(open_dataset("tsv:" + file), doctest::Contains((file + ":3:").c_str()), Error);
  write_file(file, "a.png\tok\n\tno path\n");
  CHECK_THROWS_WITH_AS(open_dataset("tsv:" + file), doctest::Contains((file + ":2: empty image path").c_str()), Error);
  write_file(file, "a.png\t   \n");
  CHECK_THROWS_WITH_AS(open_dataset("tsv:" + file), doctest::Contains((file + ":1: empty caption").c_str()), Error);
  std::string missing = dir / "missing.tsv";
  CHECK_THROWS_WITH_AS(open_dataset("tsv:" + missing), doctest::Contains(missing.c_str()), Error);
}

// ---- folder --------------------------------------------------------------------------------------

TEST_CASE("dataset: folder classes from sorted sub-folders, '_' read as a space, or a names file") {
  TempDir dir("folder");
  std::string root = dir / "root";
  write_file(root + "/sea_lion/2.png", encode_png(pattern_image(4, 4, 2)));
  write_file(root + "/sea_lion/1.PNG", encode_png(pattern_image(4, 4, 1)));
  write_file(root + "/sea_lion/notes.txt", std::string("not an image"));
  write_file(root + "/cat/x.png", encode_png(pattern_image(5, 4, 3)));
  write_file(root + "/stray.png", encode_png(pattern_image(2, 2)));  // not inside a class folder
  auto ds = open_dataset("folder:" + root);
  REQUIRE(ds->size() == 3);
  CHECK(ds->labelled());
  CHECK(ds->class_names() == std::vector<std::string>{"cat", "sea lion"});
  CHECK(ds->get(0).label == 0);
  CHECK(ds->get(0).image.width == 5);
  Sample s1 = ds->get(1);
  CHECK(s1.label == 1);
  CHECK(s1.image.rgb == pattern_image(4, 4, 1).rgb);  // 1.PNG sorts before 2.png
  CHECK(s1.caption.empty());
  CHECK(ds->describe().find("2 classes") != std::string::npos);

  std::string names = dir / "names.txt";
  write_file(names, std::string("tabby cat\nsea lion pup\n\n"));
  DatasetOptions opt;
  opt.class_names_file = names;
  auto named = open_dataset("folder:" + root, opt);
  CHECK(named->class_names() == std::vector<std::string>{"tabby cat", "sea lion pup"});
  write_file(names, std::string("one\ntwo\nthree\n"));
  CHECK_THROWS_WITH_AS(open_dataset("folder:" + root, opt), doctest::Contains(names.c_str()), Error);
  CHECK_THROWS_WITH_AS(open_dataset("folder:" + (dir / "nope")), doctest::Contains("not a directory"),
                       Error);
}

// ---- wds -----------------------------------------------------------------------------------------

TEST_CASE("dataset: wds pairs images with captions across brace-pattern shards") {
  TempDir dir("wds");
  std::string long_dir = std::string(90, 'd') + "/" + std::string(20, 'e');  // needs the prefix field
  std::string shard0, shard1;
  tar_member(shard0, "s/000.png", png_string(pattern_image(4, 3, 0)));
  tar_member(shard0, "s/000.txt", "first caption \n");
  tar_member(shard0, "s/000.json", "{}");
  tar_member(shard0, "s/001.txt", "second caption");  // caption before image: still paired
  tar_member(shard0, "s/001.png", png_string(pattern_image(2, 2, 1)));
  shard0 += tar_end();
  tar_member(shard1, long_dir + "/002.png", png_string(pattern_image(3, 3, 2)));
  tar_member(shard1, long_dir + "/002.txt", "third");
  tar_member(shard1, "s/003.png", png_string(pattern_image(3, 3, 3)));  // no caption: skipped
  tar_member(shard1, "s/004.txt", "caption without image");           // skipped too
  shard1 += tar_end();
  write_file(dir / "shard-000.tar", shard0);
  write_file(dir / "shard-001.tar", shard1);

  auto ds = open_dataset("wds:" + (dir / "shard-{000..001}.tar"));
  REQUIRE(ds->size() == 3);
  CHECK_FALSE(ds->labelled());
  CHECK(ds->describe().find("2 shards, 3 images, 2 keys") != std::string::npos);
  Sample a = ds->get(0);
  CHECK(a.caption == "first caption");
  CHECK(a.image.rgb == pattern_image(4, 3, 0).rgb);
  CHECK(a.source == (dir / "shard-000.tar") + ":s/000.png");
  CHECK(ds->get(1).caption == "second caption");
  CHECK(ds->get(1).image.rgb == pattern_image(2, 2, 1).rgb);
  Sample c = ds->get(2);
  CHECK(c.caption == "third");
  CHECK(c.image.rgb == pattern_image(3, 3, 2).rgb);
  CHECK(c.source.find(long_dir + "/002.png") != std::string::npos);
}

TEST_CASE("dataset: wds truncated or corrupt shards are errors naming the shard and member") {
  TempDir dir("wds_bad");
  std::string tar;
  tar_member(tar, "k/000.png", png_string(pattern_image(8, 8)));
  tar_member(tar, "k/000.txt", "caption");
  tar += tar_end();
  std::string shard = dir / "cut.tar";
  // Cut inside the first member's data.
  write_file(shard, tar.substr(0, 530));
  CHECK_THROWS_WITH_AS(open_dataset("wds:" + shard), doctest::Contains(shard.c_str()), Error);
  CHECK_THROWS_WITH_AS(open_dataset("wds:" + shard), doctest::Contains("k/000.png"), Error);
  // Cut inside the second header.
  size_t second = tar.find("k/000.txt");  // the second header starts with its name
  write_file(shard, tar.substr(0, second + 100));
  CHECK_THROWS_WITH_AS(open_dataset("wds:" + shard), doctest::Contains("truncated"), Error);
  CHECK_THROWS_WITH_AS(open_dataset("wds:" + shard), doctest::Contains("k/000.png"), Error);
  // A flipped byte in a header breaks its checksum.
  std::string bad = tar;
  bad[second + 2] ^= 0x20;
  write_file(shard, bad);
  CHECK_THROWS_WITH_AS(open_dataset("wds:" + shard), doctest::Contains("checksum"), Error);
  // A missing shard.
  std::string missing = dir / "missing-1.tar";
  CHECK_THROWS_WITH_AS(open_dataset("wds:" + (dir / "missing-{1,2}.tar")),
                       doctest::Contains(missing.c_str()), Error);
  // A corrupt image inside a valid shard fails in get(), naming shard and member.
  std::string junk;
  tar_member(junk, "j/0.jpg", "not a jpeg");
  tar_member(junk, "j/0.txt", "junk");
  junk += tar_end();
  write_file(dir / "junk.tar", junk);
  auto ds = open_dataset("wds:" + (dir / "junk.tar"));
  CHECK_THROWS_WITH_AS(ds->get(0), doctest::Contains(((dir / "junk.tar") + ":j/0.jpg").c_str()), Error);
}

// ---- cifar ---------------------------------------------------------------------------------------

TEST_CASE("dataset: cifar10 reads the train batches and the test batch, CHW to HWC") {
  TempDir dir("cifar10");
  for (int b = 1; b <= 5; ++b)
    write_file(dir / ("data_batch_" + std::to_string(b) + ".bin"),
               cifar_record({static_cast<uint8_t>(b)}, b) + cifar_record({9}, 100 + b));
  write_file(dir / "test_batch.bin", cifar_record({3}, 7) + cifar_record({0}, 8) + cifar_record({5}, 9));
  auto train = open_dataset("cifar10:" + dir.path.string());
  REQUIRE(train->size() == 10);
  CHECK(train->class_names().size() == 10);
  CHECK(train->class_names()[0] == "airplane");
  CHECK(train->class_names()[9] == "truck");
  Sample s = train->get(2);  // data_batch_2, record 0
  CHECK(s.label == 2);
  CHECK(s.image.width == 32);
  CHECK(s.image.height == 32);
  // Pixel p = 33 (row 1, column 1): channel c holds (33 + 50c + 2).
  CHECK(s.image.rgb[33 * 3 + 0] == 35);
  CHECK(s.image.rgb[33 * 3 + 1] == 85);
  CHECK(s.image.rgb[33 * 3 + 2] == 135);
  CHECK(train->get(9).label == 9);
  DatasetOptions opt;
  opt.split = "test";
  auto test = open_dataset("cifar10:" + dir.path.string(), opt);
  REQUIRE(test->size() == 3);
  CHECK(test->get(0).label == 3);
  CHECK(test->class_names()[test->get(0).label] == "cat");

  std::string cut = dir / "test_batch.bin";
  write_file(cut, cifar_record({1}, 0).substr(0, 3000));
  CHECK_THROWS_WITH_AS(open_dataset("cifar10:" + dir.path.string(), opt),
                       doctest::Contains(cut.c_str()), Error);
  opt.split = "val";
  CHECK_THROWS_AS(open_dataset("cifar10:" + dir.path.string(), opt), Error);
}

TEST_CASE("dataset: cifar100 uses the fine label and its 100 names") {
  TempDir dir("cifar100");
  write_file(dir / "train.bin", cifar_record({0, 1}, 0) + cifar_record({19, 99}, 1));
  write_file(dir / "test.bin", cifar_record({4, 41}, 2));
  auto train = open_dataset("cifar100:" + dir.path.string());
  REQUIRE(train->size() == 2);
  REQUIRE(train->class_names().size() == 100);
  CHECK(train->class_names()[train->get(0).label] == "aquarium fish");
  CHECK(train->class_names()[train->get(1).label] == "worm");
  DatasetOptions opt;
  opt.split = "test";
  auto test = open_dataset("cifar100:" + dir.path.string(), opt);
  CHECK(test->class_names()[test->get(0).label] == "lawn mower");
  write_file(dir / "test.bin", cifar_record({4, 100}, 2));  // fine label out of range
  CHECK_THROWS_WITH_AS(open_dataset("cifar100:" + dir.path.string(), opt),
                       doctest::Contains((dir / "test.bin").c_str()), Error);
}

// ---- idx -----------------------------------------------------------------------------------------

TEST_CASE("dataset: idx plain and gzipped, grey to RGB, class names from labels or a file") {
  TempDir dir("idx");
  std::vector<uint8_t> pixels;
  for (int i = 0; i < 3 * 2 * 3; ++i) pixels.push_back(static_cast<uint8_t>(i * 10));
  std::string images = idx_file(0x00000803, {3, 2, 3}, pixels);
  std::string labels = idx_file(0x00000801, {3}, {4, 0, 2});
  write_file(dir / "images.idx", images);
  write_file(dir / "labels.idx", labels);
  write_gz(dir / "images.idx.gz", images);
  write_gz(dir / "labels.idx.gz", labels);
  for (std::string ext : {"", ".gz"}) {
    CAPTURE(ext);
    auto ds = open_dataset("idx:" + (dir / ("images.idx" + ext)) + "," + (dir / ("labels.idx" + ext)));
    REQUIRE(ds->size() == 3);
    CHECK(ds->class_names() == std::vector<std::string>{"0", "1", "2", "3", "4"});
    Sample s = ds->get(1);
    CHECK(s.label == 0);
    CHECK(s.image.width == 3);
    CHECK(s.image.height == 2);
    // Image 1 starts at pixel 6; pixel (x=2, y=1) is index 6 + 5 = 11, value 110, in all channels.
    for (int c = 0; c < 3; ++c) CHECK(s.image.rgb[(1 * 3 + 2) * 3 + c] == 110);
    CHECK(ds->get(0).label == 4);
  }
  write_file(dir / "names.txt", std::string("zero\none\ntwo\nthree\nfour\nfive\n"));
  auto named = open_dataset("idx:" + (dir / "images.idx") + "," + (dir / "labels.idx") + "," +
                            (dir / "names.txt"));
  CHECK(named->class_names()[named->get(0).label] == "four");
}

TEST_CASE("dataset: idx wrong magic, count mismatch and corrupt gzip are errors naming the file") {
  TempDir dir("idx_bad");
  std::string labels = dir / "labels.idx", images = dir / "images.idx";
  write_file(labels, idx_file(0x00000801, {2}, {1, 2}));
  write_file(images, idx_file(0x00000801, {2}, {1, 2}));  // a label file given as images
  CHECK_THROWS_WITH_AS(open_dataset("idx:" + images + "," + labels),
                       doctest::Contains((images + ": not an IDX image file (magic 0x00000801").c_str()),
                       Error);
  write_file(images, idx_file(0x00000803, {3, 1, 1}, {1, 2, 3}));
  CHECK_THROWS_WITH_AS(open_dataset("idx:" + images + "," + labels),
                       doctest::Contains("2 labels, but"), Error);
  write_file(images, idx_file(0x00000803, {2, 2, 2}, {1, 2, 3}));  // too few pixels
  CHECK_THROWS_WITH_AS(open_dataset("idx:" + images + "," + labels),
                       doctest::Contains(images.c_str()), Error);
  std::string gz = dir / "images.idx.gz";
  write_gz(gz, idx_file(0x00000803, {2, 8, 8}, std::vector<uint8_t>(128, 7)));
  std::string bytes = read_file(gz);
  write_file(gz, bytes.substr(0, bytes.size() - 12));
  CHECK_THROWS_WITH_AS(open_dataset("idx:" + gz + "," + labels), doctest::Contains(gz.c_str()), Error);
  CHECK_THROWS_WITH_AS(open_dataset("idx:" + images), doctest::Contains("IMAGES,LABELS"), Error);
}

// ---- spec dispatch and braces --------------------------------------------------------------------

TEST_CASE("dataset: unknown DATA spec prefixes list the known ones") {
  CHECK_THROWS_WITH_AS(open_dataset("parquet:/x"), doctest::Contains("unknown dataset type 'parquet'"),
                       Error);
  CHECK_THROWS_WITH_AS(open_dataset("/just/a/path.tsv"), doctest::Contains("tsv, folder, wds"), Error);
  CHECK_THROWS_WITH_AS(open_dataset("tsv:"), doctest::Contains("needs a path"), Error);
}

TEST_CASE("expand_braces: numeric ranges with padding, lists, several groups") {
  using V = std::vector<std::string>;
  CHECK(expand_braces("plain.tar") == V{"plain.tar"});
  CHECK(expand_braces("a-{000..003}.tar") == V{"a-000.tar", "a-001.tar", "a-002.tar", "a-003.tar"});
  CHECK(expand_braces("s{8..11}") == V{"s8", "s9", "s10", "s11"});
  CHECK(expand_braces("s{08..11}") == V{"s08", "s09", "s10", "s11"});
  CHECK(expand_braces("{3..1}") == V{"3", "2", "1"});
  CHECK(expand_braces("{a,b,c}.txt") == V{"a.txt", "b.txt", "c.txt"});
  CHECK(expand_braces("{x,y}-{0..1}") == V{"x-0", "x-1", "y-0", "y-1"});
  CHECK(expand_braces("{a,b{1..2}}") == V{"a", "b1", "b2"});
  CHECK(expand_braces("{,pre}fix") == V{"fix", "prefix"});
  CHECK(expand_braces("lit{x}{1..2}") == V{"lit{x}1", "lit{x}2"});
  CHECK(expand_braces("data/{train,val}/{00..01}.tar") ==
        V{"data/train/00.tar", "data/train/01.tar", "data/val/00.tar", "data/val/01.tar"});
  CHECK_THROWS_WITH_AS(expand_braces("bad{1..3"), doctest::Contains("unmatched"), Error);
  CHECK_THROWS_WITH_AS(expand_braces("{1..x}"), doctest::Contains("{1..x}"), Error);
}
